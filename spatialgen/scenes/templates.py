"""Question wording: several paraphrases per relation or query. ``{a}``, ``{b}``, ``{c}`` are referring
expressions; ``{f}`` is a plural filter phrase, ``{f1}`` a singular one with its article."""

TEMPLATES: dict[str, tuple[str, ...]] = {
    "left_of": (
        "Is {a} to the left of {b}?",
        "Is {a} left of {b}?",
        "Is {a} on the left side of {b}?",
        "Does {a} appear to the left of {b}?",
    ),
    "right_of": (
        "Is {a} to the right of {b}?",
        "Is {a} right of {b}?",
        "Is {a} on the right side of {b}?",
        "Does {a} appear to the right of {b}?",
    ),
    "above": (
        "Is {a} above {b}?",
        "Is {a} higher in the image than {b}?",
        "Is {a} located above {b}?",
        "Does {a} appear above {b}?",
    ),
    "below": (
        "Is {a} below {b}?",
        "Is {a} lower in the image than {b}?",
        "Is {a} located below {b}?",
        "Does {a} appear below {b}?",
    ),
    "near": ("Is {a} near {b}?", "Is {a} close to {b}?", "Are {a} and {b} close together?"),
    "far": ("Is {a} far from {b}?", "Is {a} far away from {b}?", "Are {a} and {b} far apart?"),
    "bigger": ("Is {a} bigger than {b}?", "Is {a} larger than {b}?", "Does {a} cover more area than {b}?"),
    "smaller": ("Is {a} smaller than {b}?", "Is {a} less large than {b}?", "Does {a} cover less area than {b}?"),
    "overlaps": ("Do {a} and {b} overlap?", "Does {a} overlap {b}?", "Are {a} and {b} overlapping?"),
    "closer": ("Is {a} closer to {c} than {b} is?", "Is {a} nearer to {c} than {b} is?"),
    "farther": ("Is {a} farther from {c} than {b} is?", "Is {a} further away from {c} than {b} is?"),
    "leftmost": ("Which object is the leftmost?", "Which object is furthest to the left?"),
    "rightmost": ("Which object is the rightmost?", "Which object is furthest to the right?"),
    "topmost": ("Which object is the topmost?", "Which object is highest in the image?"),
    "bottommost": ("Which object is the bottommost?", "Which object is lowest in the image?"),
    "in_front_of": ("Is {a} in front of {b}?", "Is {a} nearer the viewer than {b}?"),
    "behind": ("Is {a} behind {b}?", "Is {a} farther back than {b}?"),
    "on_top_of": ("Is {a} on top of {b}?", "Is {a} resting on {b}?"),
    "closer_to_camera": ("Is {a} closer to the camera than {b}?",),
    "farther_from_camera": ("Is {a} farther from the camera than {b}?",),
    "frontmost": ("Which object is closest to the front?", "Which object is nearest the viewer?"),
    "backmost": ("Which object is farthest back?", "Which object is farthest from the viewer?"),
    "material": ("What material is {a} made of?", "What is {a} made of?"),
    "count": ("How many {f} are there?", "How many {f} are in the image?", "What is the number of {f}?"),
    "exist": ("Is there {f1}?", "Are there any {f}?", "Does the image contain {f1}?"),
    "color": ("What color is {a}?", "Which color does {a} have?"),
    "shape": ("What shape is {a}?", "What is the shape of {a}?"),
}

ANSWER_TYPES = ("yes_no", "multiple_choice", "word", "number")
