"""How runs are reported: rows beside published numbers (report, published), deviations, figures (plotting), the
README's paragraphs and results at a glance (summary)."""
