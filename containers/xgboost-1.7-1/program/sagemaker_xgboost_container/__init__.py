"""The local twin's own `sagemaker_xgboost_container` package (not AWS's: that one is not on PyPI).

The real image installs a package of this name from github.com/aws/sagemaker-xgboost-container
(branch 1.7-1): `training:main` is its SAGEMAKER_TRAINING_MODULE, `serving:main` its serving app, and
users' scripts import from it (`data_utils.get_dmatrix`, `distributed.rabit_run`, `checkpointing.train`,
as AWS's "XGBoost as a framework" examples do). This package offers the same module names and the
functions such scripts use, written for the twin; the algorithm itself is in algorithm_mode/.
"""
