"""The program that runs inside Orthanc: the SDK wrapper, the route table and its endpoints.

Importing this package imports nothing else: ``main`` and ``sdk`` need the
compiled ``_previewer_native`` module, which exists only inside Orthanc.
"""
