"""`orderflow scaler compare` and `orderflow scaler bench`: our ConsumerScaler against KEDA and the HPA, simulated
and on real pods. Development tooling: the operator's package and image hold none of it.

The simulation: simulate.py is the world (pure), keda.py a model of KEDA's Kafka scaler and the HPA, compare.py
runs our policy (operators.scaler.evaluate) and the model over its traces, comparecli.py is the command and the
table both commands print.

The bench, against the real KEDA and the real HPA: consumer.py and its Dockerfile are the pods (one image, one
per-pod rate, for every autoscaler); traces.py the load shapes (pure, the simulation's too); schedule.py spreads
them over the partitions; feed.py writes them to Kafka; workload.py renders the Deployments and the autoscalers'
objects; observe.py samples lag, replicas and the group's assignment; measures.py turns samples into the metrics
`orderflow scaler compare` reports; run.py drives it all on the local kind cluster.
"""
