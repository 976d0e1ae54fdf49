"""``foresight demo``: the operator on a local cluster, a real load trace, a surge and a failing node.

* :mod:`foresight.demo.scenario`: what the demo applies and how its outcomes are judged (pure);
* :mod:`foresight.demo.stack`: the cluster, the chart's RBAC, the ServiceAccount kubeconfig and the
  operator process;
* :mod:`foresight.demo.view`: what is observed each second, the live view and the fan chart.
"""
