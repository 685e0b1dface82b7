"""A local Kubernetes control plane (etcd + kube-apiserver built from Go sources) for dev and tests."""
