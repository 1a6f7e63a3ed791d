"""Scenario models: budget growth, media mix and AI-marketing adoption.

Example:
    >>> from survey.models.scenarios import ai_adoption, budget, media_mix
"""
