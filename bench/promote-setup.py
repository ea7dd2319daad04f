#!/usr/bin/env python3
"""Seeds a stand-in for bench/promote.sh: a project "Bench Release" whose release 1.0.0
selects N packages (each its own package step) of SIZE_BYTES / N random bytes each, uploaded
to the built-in feed. With --target, makes only what the secure side needs: the environment,
the project and nothing else.

    promote-setup.py URL KEY DATA_DIR N SIZE_BYTES [--target]
"""
import os
import subprocess
import sys

from standin_api import call


def main():
    url, key, data_dir, count, size = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
    target = "--target" in sys.argv
    call(url, key, "POST", "/api/Spaces-1/environments", {"Name": "Production" if target else "Development"})
    project = call(url, key, "POST", "/api/Spaces-1/projects",
                   {"Name": "Bench Release", "ProjectGroupId": "ProjectGroups-1", "LifecycleId": "Lifecycles-1"})
    if target:
        return
    pid = project["Id"]
    path = f"/api/Spaces-1/deploymentprocesses/deploymentprocess-{pid}"
    process = call(url, key, "GET", path)
    process["Steps"] = [{
        "Name": f"Deploy {i:02}",
        "Actions": [{"Name": f"Deploy {i:02}", "ActionType": "Octopus.TentaclePackage",
                     "Packages": [{"Name": "", "PackageId": f"Bench.Pkg{i:02}", "FeedId": "feeds-builtin",
                                   "AcquisitionLocation": "Server"}]}],
    } for i in range(count)]
    call(url, key, "PUT", path, process)
    os.makedirs(data_dir, exist_ok=True)
    each = size // count
    for i in range(count):
        name = os.path.join(data_dir, f"Bench.Pkg{i:02}.1.0.0.zip")
        if not os.path.exists(name) or os.path.getsize(name) != each:
            with open(name, "wb") as out, open("/dev/urandom", "rb") as rnd:
                left = each
                while left:
                    chunk = rnd.read(min(left, 1 << 20))
                    out.write(chunk)
                    left -= len(chunk)
        subprocess.run(["curl", "-sf", "-o", "/dev/null", "-H", f"X-Octopus-ApiKey: {key}",
                        "-F", f"file=@{name}", f"{url}/api/Spaces-1/packages/raw"], check=True)
    call(url, key, "POST", "/api/Spaces-1/releases", {
        "ProjectId": pid, "Version": "1.0.0",
        "SelectedPackages": [{"ActionName": f"Deploy {i:02}", "Version": "1.0.0"} for i in range(count)],
    })


if __name__ == "__main__":
    main()
