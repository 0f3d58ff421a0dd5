// Stopword lists for the languages the extractive summarizer knows (en, fr, de, es, it, pt, nl).
// They serve twice: to ignore function words when scoring, and to guess the language of a text.

const LISTS: Record<string, string> = {
  en: `a about above after again against all also am an and any are as at be because been before being
    below between both but by can could did do does doing down during each few for from further had has
    have having he her here hers herself him himself his how i if in into is it its itself just me more
    most my myself no nor not now of off on once only or other our ours ourselves out over own same she
    should so some such than that the their theirs them themselves then there these they this those
    through to too under until up very was we were what when where which while who whom why will with
    would you your yours yourself yourselves said says one two new like many much may might must us
    been into its it's don't can't isn't there's also however still even though although yet`,
  fr: `a à afin ai aie aient ainsi alors as au aucun aucune aujourd auprès aussi autre autres aux avec
    avait avaient avant avez avoir avons ayant bien c ça car ce ceci cela celle celles celui cependant
    ces cet cette ceux chaque chez ci comme comment d dans de depuis des deux doit donc dont du elle
    elles en encore entre est et étaient était été être eu eux fait faire fois font hors il ils j je
    jusqu l la là le les leur leurs lors lui m ma mais me même mes moi moins mon n ne ni nos notre
    nous on ont ou où par parce pas peu peut plus pour pourquoi qu quand que quel quelle quelles
    quels qui quoi s sa sans se selon ses si sien son sont sous sur t ta tandis te tes toi ton
    tous tout toute toutes très tu un une vers via voici voilà vos votre vous y déjà après avant
    cela sera seront ainsi encore fut sous contre également`,
  de: `aber alle allem allen aller alles als also am an ander andere anderem anderen anderer anderes
    auch auf aus bei bin bis bist da damit dann das dass dasselbe dazu dein deine dem den denn der
    des dessen dich die dies diese dieselbe diesem diesen dieser dieses dir doch dort du durch ein
    eine einem einen einer eines einig einige er es etwas euch euer für gegen gewesen hab habe haben
    hat hatte hätte hier hin hinter ich ihm ihn ihnen ihr ihre im in indem ins ist jede jedem jeden
    jeder jedes jene jetzt kann kein keine können könnte machen man manche mein meine mich mir mit
    muss musste nach nicht nichts noch nun nur ob oder ohne sehr sein seine selbst sich sie sind so
    solche soll sollte sondern sonst über um und uns unser unter viel vom von vor während war waren
    warst was weg weil weiter welche wenn werde werden wie wieder will wir wird wirst wo wollen
    wurde würde zu zum zur zwar zwischen schon wurden worden seit beim`,
  es: `a al algo algunas algunos ante antes como con contra cual cuando de del desde donde durante e el
    él ella ellas ellos en entre era erais eran eras eres es esa esas ese eso esos esta estaba estado
    estar este esto estos fue fueron fui ha había han has hasta hay la las le les lo los más me mi mis
    mucho muchos muy nada ni no nos nosotros o os otra otras otro otros para pero poco por porque que
    qué quien quienes se sea ser si sí sido sin sobre son su sus también tanto te tiene tienen todo
    todos tu tus un una uno unos usted y ya yo puede pueden según cada desde así donde aunque`,
  it: `a ad agli ai al alla alle allo anche avere aveva avevano che chi ci come con contro cui da dagli
    dai dal dalla dalle degli dei del dell della delle dello di dove e è ed era erano essere fa gli
    ha hanno ho i il in io la le lei li lo loro lui ma mi mio negli nei nel nella nelle nello noi non
    nostro o per perché più poi quale quali quando quella quelle quello questa queste questo se sei
    si sia sono su sua sue sugli sui sul sulla suo suoi tra tu tutti tutto un una uno vi voi già
    ancora dopo prima molto stato stata anche essere così`,
  pt: `a à ao aos as às até com como da das de dela dele deles demais depois do dos e é ela elas ele
    eles em entre era eram essa essas esse esses esta está estão estas este estes eu foi foram há isso
    isto já lhe lhes mais mas me mesmo meu minha muito na não nas nem no nos nós o os ou para pela
    pelas pelo pelos por quais qual quando que quem se sem ser seu seus só sua suas também te tem têm
    teu tu um uma umas uns você vocês vos ainda assim cada onde sobre sido pode podem segundo`,
  nl: `aan al alles als altijd andere ben bij daar dan dat de der deze die dit doch doen door dus een
    eens en er ge geen geweest haar had heb hebben heeft hem het hier hij hoe hun iemand iets ik in
    is ja je kan kon kunnen maar me meer men met mij mijn moet na naar niet niets nog nu of om omdat
    onder ons ook op over reeds te tegen toch toen tot u uit uw van veel voor want waren was wat
    werd wezen wie wil worden wordt zal ze zelf zich zij zijn zo zonder zou volgens jaar twee`,
};

export const STOPWORDS: Readonly<Record<string, ReadonlySet<string>>> = Object.fromEntries(
  Object.entries(LISTS).map(([lang, words]) => [lang, new Set(words.split(/\s+/).filter(Boolean))]),
);

export const KNOWN_LANGUAGES = Object.keys(LISTS);

/** The union of every list: used to filter function words when the language is unknown. */
export const ANY_STOPWORD: ReadonlySet<string> = new Set(Object.values(STOPWORDS).flatMap((s) => [...s]));
