"""No lost update: 200 concurrent PATCHes from 10 threads on one layer."""

import threading

from flask import Flask


def test_200_concurrent_patches_on_one_layer_lose_nothing(app: Flask) -> None:
    client = app.test_client()
    layer = client.post("/stream/layers", json={"type": "color",
                                                "content": {"color": "#000000"}}).get_json()
    url = f"/stream/layers/{layer['id']}"
    versions: list[int] = []
    failures: list[object] = []
    lock = threading.Lock()

    def patch_twenty(thread: int) -> None:
        own = app.test_client()
        for step in range(20):
            response = own.patch(url, json={"transform": {"x": thread * 100 + step}})
            with lock:
                if response.status_code == 200:
                    versions.append(response.get_json()["version"])
                else:
                    failures.append((response.status_code, response.get_json()))

    threads = [threading.Thread(target=patch_twenty, args=(n,)) for n in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert failures == []
    assert len(versions) == 200 and len(set(versions)) == 200
    assert sorted(versions) == list(range(2, 202))
    assert client.get(url).get_json()["version"] == layer["version"] + 200
