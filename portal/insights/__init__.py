"""Insights: reading Instagram's figures into rows, and showing them again. No Flask.

refresh (plan and send a pass's Graph calls), rows (answers to upserted rows), webhooks (story
figures Meta pushes), figures (what the pages show), charts (inline SVG), export (CSV).
"""
