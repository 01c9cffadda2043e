"""Write data/tiny_stories.txt: short stories from a small grammar, so the corpus is ours and offline.

Deterministic: the same seed writes the same file byte for byte (tests/test_data.py checks it).
    python data/make_tiny_stories.py
"""

import pathlib
import random

NAMES = ["Ada", "Ben", "Cleo", "Dan", "Eva", "Finn", "Gus", "Hana", "Ivo", "June"]
ANIMALS = ["cat", "dog", "fox", "owl", "hen", "frog", "bear", "duck"]
PLACES = ["the park", "the river", "the hill", "the garden", "the forest", "the beach", "the market"]
OBJECTS = ["a red ball", "a blue kite", "an old map", "a small boat", "a green hat", "a big drum"]
FEELINGS = ["happy", "sleepy", "brave", "curious", "hungry", "quiet"]
WEATHER = ["The sun was warm.", "It began to rain.", "The wind was cold.", "The sky was clear."]


def a(noun):
    return ("an " if noun[0] in "aeiou" else "a ") + noun


def story(rng):
    name, friend = rng.sample(NAMES, 2)
    animal, place, thing = rng.choice(ANIMALS), rng.choice(PLACES), rng.choice(OBJECTS)
    lines = [
        f"{name} went to {place} with {a(animal)}.",
        rng.choice(WEATHER),
        f"The {animal} was {rng.choice(FEELINGS)}, so {name} gave it {thing}.",
        f"Then {friend} came and said, \"Can I play too?\"",
        rng.choice([f"{name} said yes, and they played until dark.", f"{name} smiled and shared {thing}."]),
        f"At home, {name} told the story again and the {animal} fell asleep.",
    ]
    return " ".join(lines[: rng.randint(4, 6)])


def make(n_stories=600, seed=0):
    rng = random.Random(seed)
    return "\n\n".join(story(rng) for _ in range(n_stories)) + "\n"


if __name__ == "__main__":
    out = pathlib.Path(__file__).resolve().parent / "tiny_stories.txt"
    out.write_text(make(), encoding="utf-8")
    print(f"wrote {out} ({out.stat().st_size} bytes)")
