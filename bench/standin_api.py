"""A JSON call to a stand-in, for the benchmark setup scripts."""
import json
import urllib.request


def call(url, key, method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url + path, data=data, method=method,
                                 headers={"X-Octopus-ApiKey": key, "Content-Type": "application/json"})
    with urllib.request.urlopen(req) as resp:
        return json.loads(resp.read() or b"null")
