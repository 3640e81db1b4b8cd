"""Mining a photo-tag vocabulary (concrete nouns and -ing activities) from captions.

No POS tagger is needed for Flickr8k's short, regular captions: a stop list removes function
words, colours, numbers, adjectives and generic verbs; plurals are singularised; verb forms
("runs", "jump") are folded into their -ing activity ("running", "jumping") when that is a tag.
"""

from collections import Counter

from ml_models.dataset import tokenize

_STOP_WORDS = set("""
a an the is are be been being am was were has have having had do does doing did can will would
in on at of to with by from for into onto over under through across along around behind beside
near next towards toward against above below between among beneath inside outside off up down out
away past about after before during while whilst as like than then there here where when which who
whom what that this these those it its he she they them him her his their hers theirs itself himself
herself themselves someone something somebody anyone everyone each every all both some several many
few other another others same different very just also too not no or and but so if very only
one two three four five six seven eight nine ten third first second many lot bunch
white black brown red blue green yellow orange pink purple grey gray tan dark light colored colorful
colourful golden gold silver beige bright brightly blond blonde striped plaid painted
young little small large big old older younger elderly tall short long high low huge giant wide
deep shallow full empty open clear wet dry dirty muddy sandy snowy grassy rocky wooded fluffy furry
busy crowded steep sunny paved fenced lit matching opposing professional public rural urban outdoor
indoor teenage male female asian african american german lone ready beautiful smaller larger
shirtless barefoot bald bearded haired hooded upside airborne midair whole rough fast nearby together
front back top bottom side middle edge end left right way view area part piece set kind type
look looks looking looked watch watches watching watched stand stands standing stood sit sits sitting
get gets getting go goes going come coming make makes making take takes taking try tries trying
attempt attempts attempting prepare prepares preparing appear appears seem seen show shows showing
hold holds holding held wear wears wearing carry carries carrying pose poses posing wait waits
waiting lay lays laying lie lies lying lean leans leaning hang hangs hanging face faces facing use
using reach reaching pull pulling pulled push pushing covered dressed surrounded filled attached
gathered fallen thrown overlooking sticking enjoys enjoy enjoying having set setting performing
perform performs does doing held raises raise rolling moving rest resting turn turning talk talks
talking smile smiles smiling laugh laughing staring stares seated lies
item object scene spot point put give help follow lead pass move stop round close closeup life number
day distance alongside atop hind friend land speed cut block row line lined display event body photo
picture photograph surface structure terrain background air
s t d ll re ve m
""".split())

_IRREGULAR_SINGULARS = {"men": "man", "women": "woman", "children": "child", "feet": "foot", "teeth": "tooth",
                        "geese": "goose", "mice": "mouse", "leaves": "leaf", "skis": "ski"}
_KEEP_AS_IS = {"jeans", "pants", "shorts", "glasses", "sunglasses", "goggles", "trunks", "overalls", "stairs",
               "bus", "grass", "clothes", "dress", "glass", "chess", "class", "cross"}
# nouns whose -ing form means something else (a bike is not "biking", a swing not "swinging")
_NOT_ACTIVITIES = {"bike", "swing", "fish", "ski", "skate", "surf", "ring", "boat", "board", "sled", "park", "rail",
                   "skateboard", "snowboard", "shop"}


def singular(word: str) -> str:
    if word in _IRREGULAR_SINGULARS:
        return _IRREGULAR_SINGULARS[word]
    if word in _KEEP_AS_IS or len(word) <= 3 or word.endswith(("ss", "us", "is", "ing")):
        return word
    if word.endswith("ies"):
        return word[:-3] + "y"
    if word.endswith(("ches", "shes", "sses", "xes")):
        return word[:-2]
    return word[:-1] if word.endswith("s") else word


def _activity_forms(word: str) -> tuple[str, ...]:
    return word + "ing", word[:-1] + "ing", word + word[-1] + "ing"  # play-ing, rid(e)-ing, run-n-ing


def caption_terms(caption: str) -> set[str]:
    """Candidate tags of a caption before the frequency cut: singular nouns and verb forms."""
    return {singular(w) for w in tokenize(caption) if w not in _STOP_WORDS} - _STOP_WORDS


def _fold_activity(term: str, activities: set[str]) -> str:
    """A verb form counts for its -ing activity when that is a tag ("chase" -> "chasing")."""
    if term not in _NOT_ACTIVITIES:
        for form in _activity_forms(term):
            if form in activities:
                return form
    return term


def _image_terms(captions: list[str], activities: set[str]) -> set[str]:
    return {_fold_activity(term, activities) for caption in captions for term in caption_terms(caption)}


def mine_tags(captions_per_image: list[list[str]], min_images: int = 25) -> list[str]:
    """Terms mentioned for at least ``min_images`` photos, after folding verbs into -ing activities."""
    raw_counts = Counter(t for captions in captions_per_image for t in _image_terms(captions, set()))
    activities = {t for t, c in raw_counts.items() if c >= min_images and t.endswith("ing")}
    counts = Counter(t for captions in captions_per_image for t in _image_terms(captions, activities))
    return sorted(t for t, c in counts.items() if c >= min_images)


def image_labels(captions: list[str], tags: list[str]) -> set[str]:
    """The tags a photo has: those any of its captions mentions (directly or as a verb form)."""
    activities = {t for t in tags if t.endswith("ing")}
    return _image_terms(captions, activities) & set(tags)
