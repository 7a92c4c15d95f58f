"""Evaluation: examples from render folders and public benchmarks (sources/, benchmarks/), scoring and the
resumable runner, reports with intervals, and the diagnostics of how a model treats its vision tokens.
Builds on models; training and studies build on it."""
