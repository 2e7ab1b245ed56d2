"""Renderers: turn graphs and analysis results into text, JSON, annotations, diagrams."""
