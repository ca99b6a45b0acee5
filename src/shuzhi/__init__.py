"""shuzhi (数智): a city government's platform for AI digital employees.

The "1+3+N" system is visible in the package tree:

- the **1** is :mod:`shuzhi.gateway`, the shared model base every model call goes through;
- the **3** are the foundation services (:mod:`shuzhi.gateway`, :mod:`shuzhi.knowledge`),
  the digital employees (:mod:`shuzhi.employees`) and the management platform
  (:mod:`shuzhi.platform`, :mod:`shuzhi.console`);
- the **N** are the scenarios in :mod:`shuzhi.scenarios`, plus the AI data officer in
  :mod:`shuzhi.dataofficer`.
"""

__version__ = "0.1.0"
