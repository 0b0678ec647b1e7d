"""The operator tooling: the ``previewer`` command, a node, the cluster, supervision and install.

It runs outside Orthanc and never imports ``previewer.plugin``.
"""
