"""Word lists written for concepts: inflections, spellings, co-occurrence rules, look-alikes.

Complements test_safety_words.py (term syntax, folding, spans). The cases here are written
for these tests, not taken from the evaluation corpus (tests/data/safety_corpus.csv).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ai4artsed_desktop.errors import ConfigError
from ai4artsed_desktop.pipeline.safety_words import WordLists, load_lists, match


def categories(text: str, level: str = "kids") -> set[str]:
    return {h.category for h in match(text, level)}


# (text, category): each must hit at kids; the comment says what is exercised
HARMFUL = [
    # killing, shooting, stabbing people
    ("Der Wilderer erschießt den Förster", "violence"),  # ß
    ("er erschiesst seinen Chef", "violence"),  # ss
    ("sie erschiest ihn", "violence"),  # ss written as s
    ("ERSCHOSSEN im Hof", "violence"),  # participle, capitals
    ("er5ch0ssen", "violence"),  # leetspeak
    ("Der Räuber tötet den Wächter", "violence"),
    ("der räuber toetet den wächter", "violence"),  # oe for ö
    ("jemand wird umgebracht", "violence"),
    ("Der Koch bringt den Gast um", "violence"),  # separable verb
    ("ein Mörder im Zug", "violence"),
    ("ein Moerder im Zug", "violence"),
    ("Amoklauf im Einkaufszentrum", "violence"),  # compound
    ("der Amokläufer", "violence"),
    ("Amok-Lauf", "violence"),  # hyphenated
    ("the pirate kiiills the captain", "violence"),  # repeated letters
    ("a gangster shooting a cop", "violence"),  # rule: shoot + person
    ("the clown stabs a kid", "violence"),
    ("Ein Mann sticht mit einem Dolch zu", "violence"),  # rule: weapon + attack
    ("she threatens her neighbour with an axe", "violence"),
    ("er hält ihm ein Messer an die Kehle", "violence"),  # rule: weapon + body
    ("Kehle durchschneiden", "violence"),  # rule: cut + throat
    ("zu Tode geprügelt", "violence"),
    ("Er stößt den Wanderer von der Klippe", "violence"),  # rule: push + fall + person
    ("she holds her sister under water", "violence"),  # rule: hold + water + person
    ("die Tante schüttelt das Baby", "violence"),  # rule: shake + child
    ("ein Mann schlägt den Jungen bis er blutet", "violence"),  # rule: hit + blood
    # weapons used on people (kids: firearms and bombs on their own)
    ("ein Sturmgewehr", "violence"),
    ("Kalaschnikow", "violence"),
    ("a big g u n", "violence"),  # spaced letters
    ("Bombenanschlag auf einen Zug", "violence"),
    # gore
    ("eine Leiche im Fluss", "violence"),
    ("L3ichen", "violence"),
    ("blutüberströmt", "violence"),
    ("blutueberstroemt", "violence"),  # ue for ü, oe for ö
    ("ein abgetrennter Kopf", "violence"),  # rule: torn off + body part
    ("guts and blood everywhere", "violence"),
    # sexual content
    ("nackte Leute", "sexual"),
    ("n4ckt", "sexual"),
    ("P0rn0", "sexual"),
    ("Vergewaltigung", "sexual"),
    ("a sexy woman", "sexual"),  # rule: sexy + person
    # self-harm and suicide
    ("Pulsadern aufschneiden", "self_harm"),
    ("ich bring mich um", "self_harm"),  # separable verb with a reflexive pronoun
    ("Selbstmort", "self_harm"),  # one letter wrong
    ("i want to die", "self_harm"),
    ("kys", "self_harm"),
    ("ich ritze mich", "self_harm"),
    ("he hangs himself", "self_harm"),
    # hard drugs
    ("K0ka1n", "drugs"),
    ("Koks ziehen", "drugs"),
    ("smoking crack", "drugs"),  # rule: drug + consume
    ("Heroinspritze", "drugs"),  # compound
    # hate symbols and slurs
    ("ein Hakenkreuz", "hate"),
    ("h4kenkr3uz", "hate"),
    ("Hitlergruß", "hate"),
    ("Hitlergruss", "hate"),  # ss for ß
    ("Ausländer raus", "hate"),
    ("Auslaender raus", "hate"),
    ("muslims are vermin", "hate"),  # rule: group + dehumanising word
    ("ein 1488 Tattoo", "hate"),  # number code
    ("14/88", "hate"),
    # abuse
    ("Der Onkel schlägt das Kind", "violence"),  # rule: hit + person
    ("a man kicking a puppy", "violence"),  # rule: hit + animal
    ("im Keller eingesperrt, das Mädchen", "violence"),  # rule: lock + person + place
    ("Kindesmissbrauch", "sexual"),
]


@pytest.mark.parametrize(("text", "category"), HARMFUL)
def test_harmful_concepts_hit_at_kids(text: str, category: str) -> None:
    assert category in categories(text), match(text, "kids")


# benign ideas that look like listed words: none may hit at kids (where a hit blocks)
LOOK_ALIKES = [
    "Ein Glas Blutorangensaft",
    "Blutorangen im Korb",
    "Ein Schwertwal im Nordmeer",
    "a killer whale jumps",
    "a killerwhale",
    "shooting a photo of the school band",
    "Fotoshooting im Studio",
    "Die Schießbude auf dem Rummel",
    "a knight and a dragon in a fairy tale",
    "Ein Ritter kämpft mit seinem Schwert gegen einen Drachen",
    "a history lesson about the Second World War",
    "Geschichtsstunde über den Dreißigjährigen Krieg",
    "a cooking knife on a cutting board",
    "Mit dem Küchenmesser Karotten schneiden",
    "that concert was the bomb",
    "Die Party war echt die Bombe",
    "Bombenwetter im Urlaub",
    "Er schießt den Ball ins Tor",
    "a basketball player shoots",
    "Meine Oma schlägt Sahne",
    "a drummer beats the drum",
    "Ich lache mich tot",
    "my phone is dead",
    "killing time at the airport",
    "Schnittlauch schneiden",
    "Eine Hängematte im Garten",
    "Drogerie",
    "a crack in the wall",
    "Kokosnüsse am Strand",
    "the Niger river",
    "a snigger in class",
    "Eine jüdische Familie feiert Chanukka",
    "two moms at a picnic",
    "Waffeln mit Sahne",
    "Nacktschnecken im Beet",
    "a naked mole rat",
    "Granatapfel",
    "a water gun",
    "Wasserpistolen im Sommer",
    "Leichtathletik",
    "a heroine",
    "Ein Bild hängt an der Wand",
    "Ich bringe dich um acht Uhr zur Schule",
    "Das Baby schüttelt die Rassel",
    "Opa nimmt seine Herztabletten mit Wasser",
    "Ich habe mich an der Herdplatte verbrannt",
    "Wir werfen Steine vom Steg ins Wasser",
    "humming a song",
    "Seite 148, Aufgabe 8",
    "Postleitzahl 21488",
]


@pytest.mark.parametrize("text", LOOK_ALIKES)
def test_benign_look_alikes_pass_at_kids(text: str) -> None:
    assert match(text, "kids") == []


# ------------------------------------------------------------------ rules mechanics


def _lists(tmp_path: Path, *, kids: dict[str, object], concepts: object) -> WordLists:
    folder = tmp_path / "lists"
    folder.mkdir()
    base = {"categories": {}}
    files = {
        "adult.json": {**base, "extends": ""},
        "youth.json": {**base, "extends": "adult"},
        "kids.json": {"extends": "youth", "categories": {}, **kids},
        "allow.json": {"allow": ["messerspitze"]},
    }
    if concepts is not None:
        files["concepts.json"] = {"concepts": concepts}
    for name, data in files.items():
        (folder / name).write_text(json.dumps(data), encoding="utf-8")
    return WordLists.load(folder)


CONCEPTS = {
    "blade": {"de": ["messer!"], "en": ["=knife"]},
    "stab": {"de": ["==sticht"], "en": ["=stab"]},
    "kitchen": {"de": ["==küche"], "en": ["==kitchen"]},
}
RULE = {"name": "blade used", "category": "violence", "all": ["blade", "stab"], "window": 3}


def test_a_rule_needs_every_concept_near_each_other(tmp_path: Path) -> None:
    lists = _lists(tmp_path, kids={"rules": [RULE]}, concepts=CONCEPTS)
    assert lists.match("a knife", "kids") == []
    assert lists.match("he stabs", "kids") == []
    text = "he stabs with a knife"
    (hit,) = lists.match(text, "kids")
    assert hit.category == "violence"
    assert hit.term == "blade used: =knife + =stab"
    assert text[hit.span[0] : hit.span[1]] == "knife"  # the first concept's word
    assert lists.match("a knife, and far far away someone stabs", "kids") == []  # window
    assert lists.match("he stabs", "youth") == []  # kids' own rule


def test_unless_cancels_and_allowed_words_do_not_count(tmp_path: Path) -> None:
    rule = {**RULE, "unless": ["kitchen"]}
    lists = _lists(tmp_path, kids={"rules": [rule]}, concepts=CONCEPTS)
    assert lists.match("in the kitchen he stabs with a knife", "kids") == []
    assert [h.category for h in lists.match("Er sticht mit dem Messer", "kids")] == ["violence"]
    assert lists.match("Er sticht eine Messerspitze Salz ab", "kids") == []  # allowed word


def test_number_codes_match_whole_numbers_with_one_separator(tmp_path: Path) -> None:
    lists = _lists(tmp_path, kids={"codes": {"hate": ["1488"]}}, concepts=None)
    for text in ("1488", "a 1488 flag", "14-88", "14 88", "1.4.8.8"):
        (hit,) = lists.match(text, "kids")
        assert (hit.term, hit.category) == ("#1488", "hate"), text
    for text in ("21488", "14888", "1488a", "14  88"):
        assert lists.match(text, "kids") == [], text
    assert lists.match("1488", "youth") == []


def test_rules_are_inherited_and_checked_nowhere_at_research(tmp_path: Path) -> None:
    folder = tmp_path / "lists"
    folder.mkdir()
    youth = {"extends": "adult", "categories": {}, "rules": [RULE]}
    for name, data in {
        "adult.json": {"categories": {}},
        "youth.json": youth,
        "kids.json": {"extends": "youth", "categories": {}},
        "allow.json": {"allow": []},
        "concepts.json": {"concepts": CONCEPTS},
    }.items():
        (folder / name).write_text(json.dumps(data), encoding="utf-8")
    lists = WordLists.load(folder)
    assert lists.rules("kids") == lists.rules("youth") != ()
    assert lists.rules("adult") == ()
    assert lists.rules("research") == ()
    assert lists.match("stab with a knife", "research") == []
    assert [h.category for h in lists.match("stab with a knife", "kids")] == ["violence"]


@pytest.mark.parametrize(
    ("kids", "concepts", "problem"),
    [
        ({"rules": [{**RULE, "all": ["blade", "nothing"]}]}, CONCEPTS, "unknown concepts"),
        ({"rules": [RULE]}, None, "concepts.json"),
        ({"rules": [{**RULE, "category": "weather"}]}, CONCEPTS, "known category"),
        ({"rules": [{**RULE, "window": -1}]}, CONCEPTS, "window"),
        ({"rules": [{**RULE, "all": []}]}, CONCEPTS, "non-empty"),
        ({"rules": "blade"}, CONCEPTS, "must be a list"),
        ({"rules": [RULE]}, {"blade": ["knife"]}, "must be an object"),
        ({"rules": [RULE]}, {**CONCEPTS, "stab": {"en": ["=two words"]}}, "markers"),
        ({"codes": {"hate": ["14a"]}}, CONCEPTS, "digit strings"),
        ({"codes": {"weather": ["1"]}}, CONCEPTS, "digit strings"),
        ({"codes": ["1488"]}, CONCEPTS, "must be an object"),
    ],
)
def test_broken_rules_and_concepts_raise_config_error(
    tmp_path: Path, kids: dict[str, object], concepts: object, problem: str
) -> None:
    with pytest.raises(ConfigError) as info:
        _lists(tmp_path, kids=kids, concepts=concepts)
    assert "safety" in info.value.user_message
    assert problem in info.value.detail


def test_every_builtin_rule_uses_known_concepts_and_fires_on_its_own_example() -> None:
    lists = load_lists()
    examples = {
        "weapon used to attack": "he attacks a man with a machete",
        "shooting at a person": "the robber shoots at the cashier",
        "cutting oneself": "sie schneidet sich absichtlich",
        "taking drugs": "sie rauchen einen Joint",
        "hate against a group": "Tod den Juden",
        "hitting a person": "the boy punches his sister",
        "blood and gore": "Blut überall",
        "eating brains": "a zombie eats brains",
    }
    names = {rule.name for rule in lists.rules("kids")}
    assert set(examples) <= names
    for name, text in examples.items():
        assert any(h.term.startswith(f"{name}: ") for h in lists.match(text, "kids")), name
    for rule in lists.rules("kids"):
        for concept in (*rule.all, *rule.unless):
            assert lists.concept(concept), (rule.name, concept)
