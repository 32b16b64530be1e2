"""Choosing where to cut: profiles of measured time per node, pipeline plans
(K balanced stages) and device/server plans (least latency over a link).

    times = modelcut.profile("model.onnx", "times.json")
    plan = modelcut.plan("model.onnx", stages=4, balance="time", profile="times.json")
    print(plan.table())
    modelcut.split("model.onnx", at=plan.at, output_dir="parts")
"""

from .planner import BALANCES, Plan, plan, plan_device_server
from .profiler import profile

__all__ = ["BALANCES", "Plan", "plan", "plan_device_server", "profile"]
