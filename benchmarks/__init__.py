"""Benchmarks of the Orthanc Previewer: ``python -m benchmarks.run [--quick]``."""
