"""`orderflow scaler bench`: our ConsumerScaler against the real KEDA and the real HPA, on real pods.

consumer.py and its Dockerfile are the pods (one image, one per-pod rate, for every autoscaler); traces.py the
load shapes (pure); feed.py writes them to Kafka; workload.py renders the Deployments and the autoscalers'
objects; observe.py samples lag, replicas and the group's assignment; measures.py turns samples into the
metrics `orderflow scaler compare` reports; run.py drives it all on the local kind cluster.
"""
