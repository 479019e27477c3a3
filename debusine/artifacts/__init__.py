"""Artifacts: file path rules, categories and their data, local artifact builders."""
