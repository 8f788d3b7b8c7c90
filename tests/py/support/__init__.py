"""Test support: the TensorRT-RTX runtime double and shared fixtures."""
