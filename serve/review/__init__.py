"""The moderators' review queue (issue 6): pages and JSON API under ``/review``.

Kept import-free on purpose: :mod:`serve.settings` imports :mod:`serve.review.config`, so this
package must not pull in the routes (which import the settings) when it is first imported.
``serve.review.routes.install`` wires everything into the FastAPI app.
"""
