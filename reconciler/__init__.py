"""smh-reconcile: declarative reconcile for Tencent Cloud Smart Media Hosting libraries.

The pipeline, one module (or package) per stage:

    manifest  -> desired   -> walker/listing -> planner -> plan -> render -> apply -> report
    (YAML)       (model)      (remote state)    (decide)   (value)  (text/json/md) (act)

`matching` holds the glob rules shared by the planner and the walker; `client` is the only
module that speaks HTTP to SMH; `emulator` is a self-contained SMH server for tests and demos.
"""

from reconciler.startup import spare_httpx_command

__version__ = "0.1.0"

spare_httpx_command()
