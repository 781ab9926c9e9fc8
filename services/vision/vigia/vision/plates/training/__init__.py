"""Training the plate-text recogniser: synthetic plates (:mod:`.synth`), the network (:mod:`.model`)
and the seeded CPU training run (:mod:`.train`, ``make train-plates``)."""
