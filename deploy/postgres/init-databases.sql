-- One database per service: no service reads another's.
CREATE DATABASE dvc_intake;
CREATE DATABASE dvc_workflow;
CREATE DATABASE dvc_notify;
CREATE DATABASE dvc_stats;
