"""Grading pipeline: submission -> sandboxed kernel -> probes -> verdicts outside the kernel -> results."""
