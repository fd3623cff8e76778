"""Helpers shared by test modules: fault-injecting LRS, credit scenarios, lake read-back."""
