"""Container images of the local cluster: a Debian base from Debian's packages, the four orderflow images built
with BuildKit from the real Dockerfiles, FROM-scratch images of single binaries, and loading them into the node."""
