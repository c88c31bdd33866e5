"""The book's chapters and the run lists each reads: the one list both the compute phase
(``rwku_core.sweep``: every unit of the runs the chapters read) and the render phase
(``rwku_core.book``: the notebooks executed, in this order) use."""

CHAPTERS = ["00_intro", "01_data_tour", "02_memorization", "03_main_results", "04_tradeoff",
            "05_attack_types", "06_batch_target", "07_partial_layer", "08_case_studies", "09_your_method",
            "10_is_it_gone"]
COMPARE = "side_by_side"   # the book's page of every model beside the paper's two (book/compare/)
CHAPTER_RUNS = {           # chapter -> the run lists it reads (``experiments.Plan.<list>_specs``)
    "00_intro": (),
    "01_data_tour": (),    # the probe filter only (cached per model), no run of the store
    "02_memorization": ("memorization",),
    "03_main_results": ("before", "main", "contrast"),
    "04_tradeoff": ("before", "main", "repe"),
    "05_attack_types": ("before", "main"),
    "06_batch_target": ("batch_before", "batch"),
    "07_partial_layer": ("before", "layers"),
    "08_case_studies": ("before", "main"),
    "09_your_method": ("before", "main"),   # and its own method's runs, computed in its kernel
    "10_is_it_gone": ("before", "main", "attacks"),  # the attacked main runs (attack_runs); main: the LAU table
}
