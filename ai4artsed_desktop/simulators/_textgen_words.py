"""Word tables for the simulator's text generation (stop words, a tiny dictionary)."""

# fmt: off
STOP_EN = frozenset((
    "a", "an", "the", "and", "or", "but", "of", "in", "on", "at", "to", "for", "with", "from",
    "by", "as", "is", "are", "was", "were", "be", "been", "this", "that", "these", "those", "it",
    "its", "into", "over", "under", "your", "you", "my", "our", "their", "his", "her", "they",
    "them", "we", "he", "she", "about", "write", "answer", "text", "only", "please", "must",
    "should", "will", "would", "can", "could", "give", "short", "one"
))

STOP_DE = frozenset((
    "der", "die", "das", "ein", "eine", "einen", "einem", "einer", "und", "oder", "aber", "von",
    "vom", "im", "in", "am", "an", "auf", "zu", "zum", "zur", "für", "mit", "aus", "bei", "als",
    "ist", "sind", "war", "waren", "sein", "dies", "diese", "dieser", "dieses", "es", "sich",
    "ihr", "ihre", "sie", "wir", "er", "du", "ich", "nicht", "auch", "nur", "bitte", "schreibe",
    "antworte", "text", "kurz"
))

INSTRUCTION = frozenset((
    "transform", "transformation", "idea", "idee", "rules", "regeln", "style", "stil", "image",
    "prompt", "create", "model", "write", "translate", "answer", "sentence", "sentences",
    "english", "german", "deutsch", "englisch", "describe", "output", "format", "language",
    "sprache", "following", "folgende", "beschreibe", "verwandle", "schreib"
))

#: German -> English, enough for plausible test translations.
DE_EN = {
    "der": "the", "die": "the", "das": "the", "den": "the", "dem": "the", "des": "of the",
    "ein": "a", "eine": "a", "einen": "a", "einem": "a", "einer": "a", "und": "and", "oder": "or",
    "mit": "with", "im": "in the", "in": "in", "auf": "on", "unter": "under", "über": "above",
    "ist": "is", "sind": "are", "hat": "has", "haus": "house", "katze": "cat", "hund": "dog",
    "baum": "tree", "bäume": "trees", "wald": "forest", "sonne": "sun", "mond": "moon",
    "stern": "star", "sterne": "stars", "meer": "sea", "himmel": "sky", "stadt": "city",
    "berg": "mountain", "berge": "mountains", "fluss": "river", "blume": "flower",
    "blumen": "flowers", "vogel": "bird", "kind": "child", "kinder": "children", "frau": "woman",
    "mann": "man", "rot": "red", "rote": "red", "roter": "red", "blau": "blue", "blaue": "blue",
    "blauer": "blue", "grün": "green", "grüne": "green", "gelb": "yellow", "schwarz": "black",
    "weiß": "white", "groß": "big", "große": "big", "großer": "big", "klein": "small",
    "kleine": "small", "kleiner": "small", "alt": "old", "alte": "old", "alter": "old",
    "neu": "new", "schön": "beautiful", "nacht": "night", "tag": "day", "morgen": "morning",
    "abend": "evening", "regen": "rain", "schnee": "snow", "licht": "light", "fenster": "window",
    "garten": "garden", "schloss": "castle", "drache": "dragon", "ritter": "knight",
    "spielt": "plays", "fliegt": "flies", "schläft": "sleeps", "tanzt": "dances", "läuft": "runs",
    "sitzt": "sits", "steht": "stands", "zwischen": "between", "neben": "next to",
    "vor": "in front of", "hinter": "behind", "bunte": "colourful", "bunter": "colourful",
    "fröhlich": "cheerful", "traurig": "sad", "leise": "quiet",
    # the simulator's own German transformation sentences, so that translating them gives
    # English a language check accepts (a real model translates whole sentences)
    "stell": "picture", "dir": "to yourself", "gedacht": "imagined", "trägt": "carries",
    "spuren": "traces", "von": "of", "während": "while", "übergeht": "dissolves",
    "am": "at the", "ende": "end", "bleibt": "remains", "verwandelt": "transformed",
    "aber": "but", "wiedererkennbar": "recognisable", "voller": "full of",
    "blauem": "blue", "rotem": "red", "kreis": "circle", "grund": "ground",
    "farbe": "colour", "farben": "colours", "form": "shape", "formen": "shapes",
    "fuchs": "fox", "tiefen": "deep", "tiefe": "deep", "scheint": "shines",
    "durch": "through", "schwert": "sword", "idee": "idea", "rhythmus": "rhythm",
    "stille": "silence", "muster": "pattern", "kontrast": "contrast", "bewegung": "motion",
}

STYLE_POOL = (
    "colour", "rhythm", "light", "texture", "silence", "pattern", "contrast", "motion"
)

RENDER_TAGS = (
    "soft light", "vivid colours", "wide angle", "grainy film", "clean lines", "dramatic shadows",
    "pastel palette", "flat composition"
)

PALETTES = (
    ("#e4572e", "#29335c", "#f3a712", "#669bbc"),
    ("#2b2d42", "#8d99ae", "#edf2f4", "#ef233c"),
    ("#264653", "#2a9d8f", "#e9c46a", "#f4a261"),
    ("#3d348b", "#7678ed", "#f7b801", "#f35b04"),
)

SCALES = (
    ("C4", "D4", "E4", "G4", "A4", "C5"),
    ("A3", "C4", "D4", "E4", "G4", "A4"),
    ("D4", "F4", "G4", "A4", "C5", "D5"),
)

# fmt: on
