"""Data files shipped with the meters (package data, found with ``importlib.resources``).

``ccf_coefficients_aws.csv``: rows of Cloud Carbon Footprint's ``output/coefficients-aws-use.csv``
(min/max watts per vCPU by CPU microarchitecture), copied verbatim; where they come from, the
licence and the column meanings are in ``ccf_coefficients_aws.json`` next to it.
"""
