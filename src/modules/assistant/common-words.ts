/**
 * Everyday English words that spelling repair leaves alone even when the assistant's training
 * examples never use them: each is a word in its own right, a letter or two from a word the
 * assistant knows ("but" is not "bot", "snow" is not "show", "none" is not "nine"), and repairing
 * it would change what the resident said.
 */
export const commonWords = new Set(
  // Little words.
  (
    'a an and but or nor so yet if as at by of off on in to up down out via per than then though ' +
    'none nobody nothing nowhere somebody someone something somewhere anybody anyone anything ' +
    'each every either neither both few many much more most less least lots lot such same other another ' +
    'here there now soon later ago since until till still even ever never always often again already ' +
    'yes no not nor ok okay oh ah hmm well right left back away along across around behind beside between ' +
    'i me my mine we us our you your he him his she her it its they them their this that these those ' +
    'who whom whose which what when where why how whether while because unless although ' +
    // Numbers and times.
    'one two three four five six seven eight nine ten eleven twelve twenty thirty forty fifty hundred thousand ' +
    'first second third last next half quarter once twice ' +
    'day days week weeks month months year years hour hours minute minutes morning afternoon evening night ' +
    'today tonight tomorrow yesterday weekend monday tuesday wednesday thursday friday saturday sunday ' +
    // Verbs people write every day, in their common forms.
    'be is am are was were been being have has had having do does did done doing go goes went gone going ' +
    'get gets got getting make makes made making take takes took taken taking come comes came coming ' +
    'see sees saw seen say says said tell tells told know knows knew known think thought want wants wanted ' +
    'give gives gave given find found put puts keep keeps kept let lets leave leaves left feel felt ' +
    'try tries tried ask asks asked need needs needed use used work works worked call called look looked ' +
    'move moved live lived pay paid buy bought sell sells sold selling bring brought show showed shown ' +
    'grow grows grew grown stand stood sit sat run ran walk walked drive drove trip tripped fall fell fallen ' +
    'pop pops popped hit lose lost send sent spend spent wait waited stop stopped start started open opened ' +
    'close closed help helped turn turned play played read write wrote written draw drew drawn drawing drawings ' +
    'clean cleaned wash washed cook cooked eat ate drink drank sleep slept wake woke ' +
    // Things and words of everyday life.
    'car cars van vans bus box boxes bag bags pot pots pan pans cup cups can cans tin tins jar jars ' +
    'bottle bottles lid lids top tops door doors window windows wall walls floor roof room rooms ' +
    'house houses home homes flat flats road roads street streets lane path park shop shops town city ' +
    'man men woman women child children kid kids boy girl baby mum dad son daughter wife husband ' +
    'friend friends neighbour neighbours people person family ' +
    'dog dogs cat cats bird birds tree trees grass leaves water rain snow wind sun sunny cold hot warm ' +
    'good bad big small little old new young long short high low full empty late early fast slow ' +
    'sole soul ball bell bill book books note notes number numbers name names word words ' +
    'money cash card cards price cost costs free cheap dear ' +
    'food tea coffee milk bread meat fish ' +
    'phone phones letter letters email post job jobs school schools church shop ' +
    'hole holes hill hills light lights line lines side sides end ends part parts place places ' +
    'thing things stuff way ways time times life world country'
  ).split(' '),
);
