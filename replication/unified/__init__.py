"""Beyond the papers: the background class under the DNR paper's adaptive attack; all defenses on one axis."""
