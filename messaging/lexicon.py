# ruff: noqa: E501  (data: a pattern reads better on one line than cut mid-alternative)
"""What "call now" looks like in a client's message, in French and English: data, not a table.

Every pattern is written against `rules.normalise(text)`: lower case, no accents, curly
apostrophes straightened, spaces collapsed. So "Il RESPIRE très mal" is read as
"il respire tres mal", and a pattern says `tres`, never `très`.

Each category has two kinds of pattern:

- `signs`: a sign in its positive form ("saigne", "convulsions", "a mangé du chocolat"). A
  negation just before it, in the same clause, cancels it ("il ne saigne plus depuis hier",
  "pas de convulsions", "n'a pas mangé de chocolat"): see `rules.negated`.
- `absolute`: the negation is the emergency itself ("ne respire plus", "n'arrive pas à uriner",
  "can't breathe"); never cancelled.

Toxic foods, plants and medicines count only when something says they were eaten (an
ingestion verb in the same clause): "un labrador chocolat" is a colour, "il a mangé du
chocolat" is a poisoning. Products that are poisons whatever the verb (rat poison, slug bait,
antifreeze, processionary caterpillars) count alone.

The list errs towards answering: a false alarm costs the client one automatic reply with the
clinic's phone numbers and the team one look; a miss can cost an animal.
"""

from dataclasses import dataclass

# Small words allowed between a verb and its adverb: "respire TRES mal", "breathing REALLY fast".
_INTENSIFIER = (
    r"(?:(?:tres|vraiment|super|trop|assez|un peu|de plus en plus|tellement|hyper|si|vachement"
    r"|tout|really|very|so|quite|a bit|pretty|too|extremely)\s+){0,3}"
)
_WORDS = r"(?:[\w'-]+[\s,]+)"  # one word and what follows it, inside a clause

# Eating, licking, chewing, drinking: what turns a food, a plant or a medicine into a poisoning.
INGESTION = (
    r"(?:mang\w*|aval\w*|inger\w*|ingurgit\w*|croqu\w*|grignot\w*|lech\w*|bu|boit|bouff\w*|devor\w*"
    r"|machouill\w*|machonn\w*|mordill\w*|chipe\w*|englouti\w*|goute\w*"
    r"|ate|eat\w*|swallow\w*|chew\w*|lick\w*|drank|drunk|drink\w*|got into|gobbl\w*"
    r"|scoff\w*|ingest\w*|munch\w*|wolf\w* down)"
)

# Toxic when eaten (needs an ingestion verb in the clause). Foods, plants, medicines, products,
# and foreign bodies that block or pierce.
TOXIC_WHEN_EATEN = (
    # foods
    r"chocolat\w*|cacao|chocolate\w*|cocoa|brownies?"
    r"|raisins?(?: secs?)?|grapes?|sultanas?|currants?"
    r"|xylitol|chewing[- ]?gums?|gums?|bonbons? sans sucre|sugar[- ]free"
    r"|oignons?|onions?|ail|garlic|echalotes?|shallots?|poireaux?|leeks?|ciboulette|chives"
    r"|noix de macadamia|macadamia\w*|avocats?|avocados?|pate a pain|bread dough|alcool|alcohol"
    r"|biere|beer|vin|wine|cafe|coffee|cafeine|caffeine"
    # plants
    r"|lys|lis|lilium|lilly|lily|lilies|muguet|lily of the valley|laurier[- ]?roses?|oleanders?"
    r"|dieffenbachia|cycas|sago palm|azalee\w*|azaleas?|rhododendrons?|tulipes?|tulips?"
    r"|bulbes?|bulbs?|jonquilles?|daffodils?|narcisses?|if|yew|champignons?|mushrooms?"
    r"|crapauds?|toads?|gui|mistletoe|houx|holly|poinsettia|ricin|castor beans?"
    # medicines
    r"|paracetamol|doliprane|dafalgan|efferalgan|acetaminophen|tylenol"
    r"|ibuprofen\w*|advil|nurofen|aspirine?|anti[- ]?inflammatoires?|anti[- ]?inflammator\w*"
    r"|antidepresseurs?|antidepressants?|somniferes?|sleeping pills?|anxiolytiques?"
    r"|(?:mes|nos|ses|sa|la|une|toute (?:la|une)|the|my|our|a) (?:boite|plaquette|tablette"
    r"|flacon|box|bottle|packet|strip|blister)s? (?:de |d'|of )?(?:medicaments?|comprimes?"
    r"|cachets?|pilules?|pills?|tablets?|medications?|medicines?|meds)"
    r"|(?:mes|nos|my|our) (?:medicaments?|comprimes?|cachets?|pilules?|pills|tablets"
    r"|medications?|medicines?|meds)|medicaments? (?:humains?|pour humains?)|human (?:medicines?|meds)"
    r"|pilule contraceptive|birth control|cannabis|marijuana|weed|joints?|drogues?|drugs?"
    r"|cocaine|nicotine|cigarettes?|megots?|patchs? (?:de |a la )?nicotine"
    # products
    r"|javel|eau de javel|bleach|produits? menagers?|detergents?|lessive|laundry pods?"
    r"|pastilles? (?:de |pour )?lave-vaisselle|dishwasher tablets?|insecticides?|pesticides?"
    r"|desherbants?|weed ?killers?|glyphosate|engrais|fertili[sz]ers?|essence|petrol|gasoline"
    r"|white spirit|huiles? essentielles?|essential oils?|tea tree|piles?|batter(?:y|ies)"
    r"|piles? boutons?|button batter(?:y|ies)|ibuprofene"
    # foreign bodies
    r"|os de poulet|chicken bones?|os cuits?|cooked bones?|aiguilles?|needles?|hamecons?"
    r"|fish ?hooks?|ficelles?|strings?|fils? a coudre|thread|chaussettes?|socks?|jouets?"
    r"|toys?|cailloux|stones?|rocks?|noyaux?|epis? de mais|corn cobs?|balles?|balls?"
    r"|tampons?|collants?|tights|elastiques?|rubber bands?"
)

# Poisons whatever the verb (also "lying next to the rat poison"), and their effects.
POISONS = (
    r"mort[- ]?aux[- ]?rats|raticides?|rodenticides?|souricides?|rat (?:poison|bait)s?"
    r"|mouse poison|poison (?:a|pour les|pour) (?:rats|souris|taupes|limaces)|appats? empoisonnes?"
    r"|antigel|anti[- ]gel|liquide de refroidissement|antifreeze|coolant|ethylene glycol"
    r"|anti[- ]?limaces?|granules? (?:anti[- ]?limaces?|bleus? (?:pour|contre) les limaces)"
    r"|metaldehyde|slug (?:pellets?|baits?|poison)|snail (?:baits?|pellets?)"
    r"|processionnaires?|processionary"
    r"|strychnine|arsenic"
)

# A dog's flea treatment (permethrin) on a cat: deadly for the cat.
PERMETHRIN = (
    r"permethrine?|advantix|(?:chiens?|dogs?)(?:'s?)? (?:flea treatment|pipette|spot[- ]?on|anti[- ]?puces?)"
    r"|(?:pipette|spot[- ]?on|traitement|anti[- ]?puces?|flea treatment)s?"
    r" (?:pour|du|de|des|for (?:a |the )?|for)?\s?(?:gros |grand |petit )?(?:chiens?|dogs?)"
)
_CAT = r"(?<!\w)(?:chat\w*|minou|cats?|kittens?|kitty)(?!\w)"


@dataclass(frozen=True)
class Category:
    name: str
    signs: tuple[str, ...]  # positive form: a negation before it cancels it
    absolute: tuple[str, ...] = ()  # the negation is the emergency: never cancelled
    requires: str = ""  # the whole message must also match this


CATEGORIES: tuple[Category, ...] = (
    Category(
        "breathing",
        signs=(
            r"respir\w* " + _INTENSIFIER + r"(?:mal|difficilement|bizarre\w*|fort|vite|rapidement"
            r"|bruyamment|anormalement|avec (?:difficulte|peine|du mal)|(?:la |par la )?(?:bouche"
            r"|gueule) ouverte|par la bouche|a peine|en sifflant|en ralant|comme un asthmatique"
            r"|du ventre)",
            r"(?:du |beaucoup de |bcp de )?mal a (?:bien )?respirer|difficultes? (?:a|pour) respirer",
            r"peine a respirer|difficultes? respiratoires?|detresse respiratoire",
            r"respiration " + _INTENSIFIER + r"(?:difficile|sifflante|rapide|laborieuse|bruyante"
            r"|haletante|saccadee|courte|anormale|bizarre)",
            r"(?:s')?etouff\w*|s'etrangl\w*|suffoqu\w*|asphyx\w*|cherche (?:son|de l') air"
            r"|manque d'air",
            r"(?:langue|gencives|muqueuses|babines) "
            + _INTENSIFIER
            + r"(?:bleue?s?|violette?s?|violacee?s?|grise?s?|cyanosee?s?)",
            r"halete " + _INTENSIFIER + r"(?:fort|beaucoup|sans arret|sans s'arreter)",
            r"(?:trouble|difficulty|difficulties|problems?|struggling|struggle|hard time) "
            r"(?:with )?breathing|struggling (?:to|for) (?:breathe|breath|air)",
            r"hard (?:for (?:him|her|it) )?to breathe|labou?red breathing",
            r"breath\w* " + _INTENSIFIER + r"(?:hard|heavily|badly|fast|rapidly|strangely"
            r"|weird(?:ly)?|noisily|with (?:his|her|its|their|the) mouth open"
            r"|through (?:his|her|its|the) mouth)",
            r"open[- ]mouth(?:ed)? breathing|gasp\w*|chok\w*|wheez\w*",
            r"(?:blue|purple|grey|gray) (?:tongue|gums)|short(?:ness)? of breath"
            r"|respiratory distress",
            r"(?:tongue|gums) (?:is |are |look |looks |turned |turning |went )?"
            r"(?:blue|purple|grey|gray)",
        ),
        absolute=(
            r"(?:ne |n')?respir\w* (?:plus|pas|presque plus|presque pas|quasiment plus)"
            r"(?! (?:calmement|normalement|facilement|tranquillement|doucement|lentement|mieux"
            r"|du tout mal))",
            r"(?:n'|ne )?(?:arrive|parvient|peut|reussit) (?:plus|pas) a respirer",
            r"(?:can'?t|cannot|can not|unable to|isn'?t able to|couldn'?t) (?:to )?breathe",
            r"(?:not|isn'?t|stopped|has stopped|is barely|barely) breathing",
        ),
    ),
    Category(
        "bleeding",
        signs=(
            r"saign\w*",
            r"h(?:a)?emorr?(?:h)?ag\w*",
            r"bleed\w*|bled",
            r"(?:perd\w*|perdu) "
            + _INTENSIFIER
            + r"(?:du|beaucoup de|enormement de|plein de|bcp de)"
            r" sang",
            r"(?:pisse|pissait|pissent) le sang|(?:du )?sang (?:partout|qui coule|coule)",
            r"(?:vomi\w*|crach\w*|touss\w*|urin\w*|fait) (?:du |de |des caillots de )?sang",
            r"(?:du |de )?sang dans (?:les |ses |son |sa |le |la )?(?:urines?|selles|crottes|vomi\w*"
            r"|pipi|caca|diarrhee)",
            r"diarrhee\w* (?:de sang|sanglante\w*|avec du sang|hemorragique\w*|rouge\w*)",
            r"blood everywhere|losing (?:a lot of |lots of )?blood",
            r"(?:vomiting|coughing|throwing up|peeing|pooping|spitting|passing) (?:up )?blood",
            r"blood (?:in (?:his|her|its|the) )?(?:urine|stool|poo|pee|vomit|diarrh\w*)",
            r"bloody (?:diarrh\w*|vomit\w*|urine|stools?|poo)",
        ),
    ),
    Category(
        "poisoning",
        signs=(
            r"empoisonn\w*|intoxiqu\w*|intoxication\w*|poison(?:ed|ing|ous)?|envenim\w*",
            INGESTION + r"[\s,]+" + _WORDS + r"{0,6}?(?:[a-z]')?(?:" + TOXIC_WHEN_EATEN + r")",
            r"(?:" + TOXIC_WHEN_EATEN + r")[\s,]+" + _WORDS + r"{0,4}?(?:qu'(?:il|elle) |il en "
            r"|elle en |en |l'|les |he |she |it |that |they |was |were |been |got )"
            r"(?:a |ont |avait |has |had |been )?(?:tout |toute |entierement |all )?" + INGESTION,
            r"a lech\w* un crapaud|licked a toad|mordu un crapaud",
        ),
        absolute=(POISONS, r"centre anti[- ]?poison|poison control"),
    ),
    Category(
        "permethrin",
        signs=(PERMETHRIN,),
        requires=_CAT,
    ),
    Category(
        "seizure",
        signs=(
            r"convuls\w*",
            r"crises? (?:d'epilepsie|epileptiques?|convulsives?|de convulsions?|nerveuses?)",
            r"(?:fait|fais|faisait|refait|a fait|en train de faire|fait encore|vient de faire)"
            r" (?:une |des |encore une |deux |trois |plusieurs |de |la )?(?:grosses? |petites? )?"
            r"crises?",
            r"(?:une |des |en )crises? (?:depuis|ce matin|cette nuit|ce soir|a l'instant|la)",
            r"spasm\w*|tetanie|raidit (?:de tout son corps|les pattes)|pedal\w* (?:dans le vide|au sol"
            r"|couch\w*)",
            r"(?:tremble|gigote|secoue)\w* (?:de tout son corps|sans (?:s'arreter|arret)|violemment"
            r"|dans tous les sens|de partout)",
            r"(?:bave|ecume|mousse) (?:aux|a la) (?:levres|bouche|gueule)",
            r"seizur\w*|seizing|having (?:a |)fits?|fitting|epileptic (?:fit|attack|episode)s?",
            r"foaming at the mouth|(?:shaking|twitching|trembling) (?:uncontrollably|all over"
            r"|violently)",
        ),
    ),
    Category(
        "trauma",
        signs=(
            r"renvers\w* par|(?:s'est fait|s'est faite|a ete|est|vient d'etre) (?:renvers\w*"
            r"|percut\w*|ecras\w*|heurt\w*|fauch\w*|tamponn\w*)",
            r"(?:percut|heurt|fauch|tamponn|ecras)\w* par (?:une |un |la |le )?(?:voiture|auto"
            r"|camion|moto|scooter|velo|vehicule|tracteur|bus|train|voisin)",
            r"accident\w* (?:de (?:voiture|la route|la circulation|moto)|avec une voiture)",
            r"(?:tombe\w*|chute\w*|saute\w*|glisse\w*) (?:du|de la|d'une?|de l'|par la|par une|de sa|de"
            r" notre|de mon|du haut d[eu']\s?(?:la |l')?)\s?" + _WORDS + r"{0,2}?(?:balcon|fenetre"
            r"|toit|etage|terrasse|arbre|escaliers?|mezzanine|hauteur|pont|falaise|mur)",
            r"chute (?:de|du|d'un) (?:\d+|plusieurs|deux|trois|quatre|cinq|haut)",
            r"defenestr\w*|fractur\w*",
            r"(?:patte|os|jambe|queue|machoire|hanche|bassin|cotes?|dents?)s? "
            + _INTENSIFIER
            + r"(?:cassee?s?|brisee?s?|fracturee?s?|pendante?s?)",
            r"(?:casse|brise|fracture) (?:la|une|sa|les|ses) (?:patte|jambe|queue|machoire|hanche)",
            r"(?:mordu|mordue|attaque|attaquee|egorge|dechiquete|blesse|blessee)s? par",
            r"morsures?|(?:s'est fait|s'est faite|a ete) (?:mordre|mordu|mordue|attaquer|attaque)",
            r"(?:plaie|blessure|entaille|coupure)s? " + _INTENSIFIER + r"(?:profonde|beante|ouverte"
            r"|grave|qui saigne)",
            r"(?:grosse|profonde|grave) (?:plaie|entaille|coupure|blessure)",
            r"brul\w* (?:grave\w*|au|a la|par|avec)|grave\w* brul\w*|electrocut\w*",
            r"noy(?:e|ee|ade|ait|er|es)(?!\w)|coup de chaleur",
            r"(?:oeil|yeux) (?:est |sont )?(?:sorti|sortis|exorbite\w*|qui sort\w*)",
            r"enferm\w* dans (?:la|une|sa) voiture|coinc\w* dans (?:un piege|la porte|le moteur"
            r"|une fenetre|la fenetre)|piege a (?:loup|renard|machoires)",
            r"eventr\w*|empal\w*|transperc\w*",
            r"hit by (?:a |the |our |my )?(?:car|truck|van|bike|motorbike|vehicle|bus|lorry|train)",
            r"(?:run|ran) over|struck by (?:a |the )?(?:car|vehicle)|car accident",
            r"(?:fell|fallen|falling|jumped|fall) (?:off|from|out of|down) (?:a |the |our |my )?"
            + _WORDS
            + r"{0,2}?(?:balcony|window|roof|floor|storey|story|tree|stairs|height|bridge"
            r"|terrace|cliff|wall)",
            r"broken (?:leg|bone|paw|jaw|hip|pelvis|tail|ribs?|teeth)",
            r"(?:leg|bone|paw|jaw|hip|pelvis|tail) (?:is |looks |seems )?(?:broken|fractured"
            r"|dangling)",
            r"bitten by|bite wounds?|attacked by|mauled|deep (?:cut|wound|gash)"
            r"|(?:open|gaping) wound",
            r"burn(?:ed|t) (?:badly|himself|herself|itself|his|her|its|by)|badly burn\w*",
            r"drown\w*|heat ?stroke|locked in (?:a |the )?(?:hot )?car",
            r"eye (?:has )?(?:popped|is popping|hanging|came) out|caught in a trap|impaled",
        ),
    ),
    Category(
        "birth",
        signs=(
            r"dystocie|eclampsie|fievre de lait|mise bas difficile|accouchement difficile",
            r"(?:chiot|chaton|petit|bebe|agneau|poulain|veau)s? (?:est |reste )?(?:coince|bloque"
            r"|a moitie sorti|sorti a moitie)",
            r"(?:contractions?|pousse|poussait|efforts?|en travail|travail a commence) "
            r"(?:[\w']+\s+){0,3}?depuis",
            r"(?:perdu|perd) les eaux (?:[\w']+\s+){0,3}?(?:depuis|rien|pas de)",
            r"liquide (?:vert|noir)|ecoulements? (?:verts?|noirs?)|pertes? (?:vertes?|noires?)",
            r"(?:met|mettre|mis|mise) bas (?:[\w']+\s+){0,3}?depuis",
            r"dystocia|eclampsia|milk fever|(?:puppy|kitten|baby|lamb|foal|calf) (?:is )?"
            r"(?:stuck|half out)",
            r"(?:in labou?r|straining|pushing|contractions) (?:[\w']+\s+){0,3}?for (?:hours|an hour"
            r"|\d+ (?:hours?|minutes?|mins?))",
            r"(?:trouble|difficulty|problems?) (?:giving birth|whelping|kittening|delivering)",
            r"green (?:discharge|fluid)|water (?:broke|has broken) (?:[\w']+\s+){0,4}?(?:nothing"
            r"|no puppy|no kitten)",
        ),
        absolute=(
            r"(?:n'|ne )?(?:arrive|parvient|peut) (?:pas|plus) a (?:mettre bas|accoucher|expulser"
            r"|sortir (?:le|les|son|ses) (?:petits?|chiots?|chatons?))",
            r"(?:can'?t|cannot|unable to) (?:give birth|deliver|push (?:it|the \w+) out)",
        ),
    ),
    Category(
        "bloat",
        signs=(
            r"ventre " + _INTENSIFIER + r"(?:gonfle\w*|ballonne\w*|dur|distendu\w*|enorme|tendu"
            r"|comme un ballon|comme un tambour)",
            r"(?:abdomen|estomac) " + _INTENSIFIER + r"(?:gonfle\w*|distendu\w*|dur|ballonne\w*)",
            r"ballonn\w*|torsion|estomac retourne|retournement (?:de l'|d')estomac",
            r"dilatation(?:[- ]torsion)? (?:de l'estomac|gastrique|d'estomac)",
            r"(?:essai\w*|tent\w*|veut|voudrait|cherche|arrive pas|n'arrive pas) (?:de |a )?vomir"
            r" (?:sans|mais|et rien|rien)",
            r"(?:efforts?|envies?|haut-le-coeur|hauts-le-coeur) (?:de |pour )?(?:vomi\w* )?"
            r"(?:sans (?:rien|resultat)|mais rien|improductifs?)",
            r"vomit (?:dans le vide|a vide|sans rien)",
            r"bloat\w*|gdv|twisted (?:stomach|gut)|gastric (?:torsion|dilatation)",
            r"(?:swollen|distended|hard|tight|bloated) (?:belly|stomach|abdomen|tummy)",
            r"(?:belly|stomach|abdomen|tummy) (?:is |looks |seems |got )?"
            + _INTENSIFIER
            + r"(?:swollen|distended|hard|bloated|huge|tight)",
            r"(?:trying|tries|tried|keeps trying|wants|wanting) to (?:vomit|throw up|be sick|puke)"
            r" (?:but|without)|retch\w*|dry heav\w*|unproductive vomit\w*",
        ),
    ),
    Category(
        "urinary",
        signs=(
            r"(?:bouchon|obstruction|blocage|calcul)s? (?:urinaires?|de la vessie|dans l'uretre)",
            r"(?:chat|matou|il|minou) (?:est |semble |serait )?bouche",
            r"litiere (?:[\w']+\s+){0,4}?(?:sans rien|rien ne sort|pas de pipi|quelques gouttes"
            r"|sans resultat|sans uriner|pour rien|sans succes)",
            r"quelques gouttes (?:d'urine|de pipi)|vessie "
            + _INTENSIFIER
            + r"(?:pleine|dure|enorme|gonflee)",
            r"straining (?:to |in (?:the |his |her |its )?litter|in the box|to pee|to urinate)",
            r"(?:urinary|urethral|bladder) (?:blockage|obstruction|block(?:ed)?|stones?)",
            r"blocked (?:cat|tom|bladder|urethra)|(?:cat|he|tom)(?:'s| is| seems| might be| may be) blocked",
            r"no urine|only a few drops|in and out of (?:the |his |her )?litter ?box",
        ),
        absolute=(
            r"(?:n'|ne )?(?:arrive|peut|parvient|reussit)\w* (?:plus|pas|presque pas|plus du tout)"
            r" (?:a )?(?:uriner|faire (?:son |de |du )?pipi|pisser)",
            r"(?:n'|ne )(?:urine|pisse)\w* (?:plus|pas|presque plus|quasiment plus)",
            r"(?:n'|ne )(?:fait|a fait|a pas fait|a plus fait)\w* (?:plus|pas|rien)? ?(?:de |son |du )?"
            r"pipi",
            r"(?:pas|plus) (?:de |fait )?pipi depuis|(?:pas|plus) urine depuis",
            r"(?:can'?t|cannot|can not|unable to|isn'?t able to|not able to|couldn'?t"
            r"|hasn'?t been able to) (?:pee|urinate|wee)",
            r"(?:not|isn'?t|hasn'?t|hasnt|hasn'?t been) (?:peed|peeing|urinating|urinated|weeing"
            r"|wee'd)",
        ),
    ),
    Category(
        "collapse",
        signs=(
            r"inconscient\w*|perte de connaissance|(?:a |avait )?perdu connaissance",
            r"(?:s'est |)effondr\w*|evanou\w*|syncope\w*|coma(?:teux|teuse)?(?!\w)",
            r"tombe\w* dans les pommes|paralys\w*|inerte|sans vie|agonis\w*|mourant\w*"
            r"|en train de mourir|va mourir",
            r"(?:gencives|muqueuses) " + _INTENSIFIER + r"(?:toutes? )?(?:blanches|pales|grises)",
            r"unconscious|passed out|faint(?:ed|ing)|collaps\w*|unresponsive|not responding"
            r"|lifeless|paraly[sz]\w*|dying|(?:pale|white|grey|gray) gums",
        ),
        absolute=(
            r"(?:ne |n')?(?:se leve|se releve|tient|reagit|repond|bouge)\w* (?:plus|presque plus"
            r"|plus du tout)(?: debout)?",
            r"(?:ne |n')(?:se leve|se releve|tient|reagit|repond)\w* (?:pas|plus)(?: debout)?",
            r"(?:ne )?(?:peut|arrive|parvient)\w* (?:plus|pas) (?:a )?(?:marcher|se lever|se relever"
            r"|tenir debout|bouger)",
            r"(?:won'?t|will not|can'?t|cannot|isn'?t able to|unable to) (?:wake up|stand|get up"
            r"|stand up|walk|move)|not moving",
        ),
    ),
    Category(
        "explicit",
        signs=(
            r"urgen(?:ce|t|te|ts|tes|ces)(?!\w)|emergenc\w*|au secours|sos(?!\w)|a l'aide(?!\w)",
        ),
    ),
)

# Words before a sign that cancel it, words that mean "stopped" (a stop and a negation together
# cancel each other: "n'arrête pas de saigner", "can't stop the bleeding"), and words of doubt
# that keep the sign ("je ne sais pas s'il a mangé du chocolat").
NEGATIONS = frozenset(
    [
        "ne",
        "pas",
        "plus",
        "sans",
        "jamais",
        "aucun",
        "aucune",
        "ni",
        "non",
        "rien",
        "not",
        "no",
        "never",
        "without",
        "none",
        "nothing",
        "nor",
        "cannot",
        "cant",
        "dont",
        "didnt",
        "doesnt",
        "isnt",
        "wasnt",
        "hasnt",
        "havent",
        "hadnt",
        "wont",
        "aren",
    ]
)
STOPS = frozenset(
    [
        "arrete",
        "arretee",
        "arreter",
        "arretes",
        "cesse",
        "cessee",
        "cesser",
        "fini",
        "finie",
        "stop",
        "stops",
        "stopped",
        "stoppe",
        "ended",
    ]
)
DOUBTS = frozenset(
    [
        "si",
        "s'il",
        "s'ils",
        "s'elle",
        "sais",
        "sait",
        "sur",
        "sure",
        "know",
        "knows",
        "if",
        "whether",
        "maybe",
        "peut-etre",
        "unsure",
        "certain",
    ]
)
