#!/usr/bin/env python3
"""Seeds a stand-in for bench/results.sh: a project "Bench Logs" whose release 1.0.0 runs one
bash step printing 20,000 lines (the most the stand-in keeps per step) of WIDTH bytes, each
naming two of 200 made-up secret values (bench-secret-000 .. bench-secret-199) that the
secure side's secrets file lists. With --target, makes only the environment and the project
(the release arrives by import).

    results-setup.py URL KEY WIDTH [--target]
"""
import sys

from standin_api import call


def main():
    url, key, width = sys.argv[1], sys.argv[2], int(sys.argv[3])
    target = "--target" in sys.argv
    call(url, key, "POST", "/api/Spaces-1/environments", {"Name": "PCI Staging" if target else "Development"})
    project = call(url, key, "POST", "/api/Spaces-1/projects",
                   {"Name": "Bench Logs", "ProjectGroupId": "ProjectGroups-1", "LifecycleId": "Lifecycles-1"})
    if target:
        return
    pid = project["Id"]
    path = f"/api/Spaces-1/deploymentprocesses/deploymentprocess-{pid}"
    process = call(url, key, "GET", path)
    pad = "p" * max(width - 90, 1)
    script = ("awk 'BEGIN { for (i = 1; i <= 20000; i++) printf \"%%07d token bench-secret-%%03d %s "
              "then bench-secret-%%03d\\n\", i, i %% 200, (i * 7) %% 200 }'" % pad)
    process["Steps"] = [{
        "Name": "Print a long log",
        "Actions": [{"Name": "Print a long log", "ActionType": "Octopus.Script",
                     "Properties": {"Octopus.Action.Script.ScriptSource": "Inline",
                                    "Octopus.Action.Script.Syntax": "Bash",
                                    "Octopus.Action.Script.ScriptBody": script}}],
    }]
    call(url, key, "PUT", path, process)
    call(url, key, "POST", "/api/Spaces-1/releases", {"ProjectId": pid, "Version": "1.0.0"})


if __name__ == "__main__":
    main()
