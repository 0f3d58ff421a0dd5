// The offline summarizer: key sentences in the article's own language, language detection, tags.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  createExtractiveSummarizer,
  detectLanguage,
  normalizeLang,
  splitSentences,
} from '../../functions/summarize/extractive.ts';

const EN = `The city council of Portland approved a plan on Tuesday to build forty miles of protected bike lanes by the end of next year.
Cycling has grown quickly in the city since the pandemic, and the mayor said the council wants the bike lanes to keep riders safe.
Shop owners downtown worry that the bike lanes will take away parking spaces that their customers rely on.
The plan costs twenty million dollars, and the state will pay for part of it through a transport grant.
Work on the first bike lanes starts in the spring along the river, followed by the eastern neighbourhoods.
Council members will review the results after one year and decide whether to extend the network of bike lanes.`;

const FR = `Le conseil municipal de Lyon a voté mardi soir un nouveau plan pour les pistes cyclables de la ville.
Ce plan prévoit la création de quarante kilomètres de pistes cyclables d'ici à la fin de l'année prochaine.
Selon le maire, les cyclistes sont de plus en plus nombreux dans les rues de Lyon depuis la pandémie.
Les commerçants du centre-ville craignent cependant une baisse de la fréquentation de leurs boutiques.
Le budget total du plan s'élève à vingt millions d'euros, financés en partie par la métropole.
Les travaux des pistes commenceront au printemps, d'abord sur les quais du Rhône puis dans le quartier de la Part-Dieu.`;

const DE = `Der Stadtrat von München hat am Dienstag einen Plan für neue Radwege beschlossen, die bis Ende nächsten Jahres fertig sein sollen.
Nach Angaben des Bürgermeisters ist die Zahl der Radfahrer in der Stadt seit der Pandemie deutlich gestiegen.
Die Händler in der Innenstadt befürchten jedoch, dass durch die Radwege Parkplätze für ihre Kunden wegfallen.`;

const summarizer = createExtractiveSummarizer();

function assertExtracted(sentences: string[], source: string): void {
  const flat = source.replace(/\s+/g, ' ');
  for (const s of sentences) assert.ok(flat.includes(s), `not a sentence of the article: ${s}`);
}

test('an English article is summarized with its own English sentences', async () => {
  const r = await summarizer.summarize({ articleId: 'a', title: 'Portland approves bike lanes', text: EN, lang: null });
  assert.equal(r.provider, 'extractive');
  assert.equal(r.model, null);
  assert.equal(r.lang, 'en');
  assert.equal(detectLanguage(r.summary), 'en');
  const summarySentences = splitSentences(r.summary, 'en');
  assert.equal(summarySentences.length, 3);
  assertExtracted(summarySentences, EN);
  assert.ok(r.keyPoints.length > 0);
  assertExtracted(r.keyPoints, EN);
  assert.ok(r.tags.includes('bike') && r.tags.includes('lanes'), `tags: ${r.tags}`);
  for (const t of r.tags) assert.ok(!['the', 'and', 'will'].includes(t));
});

test('a French article is summarized in French, not translated', async () => {
  const r = await summarizer.summarize({
    articleId: 'b',
    title: 'Lyon vote un plan pour les pistes cyclables',
    text: FR,
    lang: null,
  });
  assert.equal(r.lang, 'fr');
  assert.equal(detectLanguage(r.summary), 'fr');
  assertExtracted(splitSentences(r.summary, 'fr'), FR);
  assertExtracted(r.keyPoints, FR);
  assert.ok(r.tags.includes('pistes'), `tags: ${r.tags}`);
  for (const t of r.tags) assert.ok(!['les', 'des', 'pour', 'dans'].includes(t), `stopword as tag: ${t}`);
});

test('a language given by the page wins over detection and is normalized', async () => {
  assert.equal(normalizeLang('fr-CA'), 'fr');
  assert.equal(normalizeLang(''), null);
  const r = await summarizer.summarize({ articleId: 'c', title: null, text: FR, lang: 'fr-FR' });
  assert.equal(r.lang, 'fr');
});

test('language detection covers the seven listed languages', () => {
  assert.equal(detectLanguage(EN), 'en');
  assert.equal(detectLanguage(FR), 'fr');
  assert.equal(detectLanguage(DE), 'de');
  assert.equal(
    detectLanguage(
      'El ayuntamiento de Madrid aprobó el martes un plan para construir carriles para bicicletas en toda la ciudad y los comerciantes están preocupados por las plazas de aparcamiento.',
    ),
    'es',
  );
  assert.equal(
    detectLanguage(
      'Il consiglio comunale di Milano ha approvato martedì un piano per costruire nuove piste ciclabili nella città e i commercianti sono preoccupati per i parcheggi.',
    ),
    'it',
  );
  assert.equal(
    detectLanguage(
      'A câmara municipal de Lisboa aprovou na terça-feira um plano para construir novas ciclovias na cidade e os comerciantes estão preocupados com o estacionamento.',
    ),
    'pt',
  );
  assert.equal(
    detectLanguage(
      'De gemeenteraad van Utrecht heeft dinsdag een plan goedgekeurd voor nieuwe fietspaden in de stad en de winkeliers zijn bezorgd over het parkeren.',
    ),
    'nl',
  );
  assert.equal(detectLanguage('Москва Санкт-Петербург Новосибирск'), null);
});

test('sentence splitting keeps abbreviations with their sentence', () => {
  assert.deepEqual(splitSentences('M. Dupont est arrivé hier soir. Il repart demain matin.', 'fr'), [
    'M. Dupont est arrivé hier soir.',
    'Il repart demain matin.',
  ]);
});

test('a very short text still yields a summary; an aborted signal stops it', async () => {
  const r = await summarizer.summarize({ articleId: 'd', title: null, text: 'Just one line here.', lang: 'en' });
  assert.equal(r.summary, 'Just one line here.');
  const ac = new AbortController();
  ac.abort();
  await assert.rejects(summarizer.summarize({ articleId: 'd', title: null, text: EN, lang: null }, ac.signal));
});
