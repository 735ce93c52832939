"""Images for the FeedGuard corpus: rendered phone screenshots, real photos, and the edits reposters make.

Fabricated proof is the image side of micro-business spam: one screenshot template, edited and reposted by many
accounts. This package makes those images (and genuine ones) so near-duplicate detection can be built and measured.
"""
