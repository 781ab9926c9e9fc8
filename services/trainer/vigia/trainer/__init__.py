"""Vigia trainer: the organization's false-alarm classifier learnt from its operators.

The events operators classified as true or false positives, with their evidence bundles, become a
data set (:mod:`vigia.trainer.dataset`); seed 000's fusion classifier (:mod:`vigia.trainer.model`)
is trained on it with PyTorch Lightning (:mod:`vigia.trainer.training`) and stored as a new version
in the ``models`` bucket and the ``classifier_models`` table (:mod:`vigia.trainer.versions`), which an
admin may activate for the correlator to score events with.
"""
