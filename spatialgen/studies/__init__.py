"""Controlled difficulty studies: a YAML of cells (knob values, everything else fixed) turned into render,
train and eval requests, and the report of curves with intervals. The top room: it builds on all others."""
