// Pages that are not the page: bot challenges (Cloudflare, DataDome, PerimeterX, Akamai, Imperva, DDoS-Guard)
// and blank renders. Read in the page after it settled; the result becomes a warning code, not a failure.

export type PageWarning = 'bot_challenge' | 'blank_page';

/**
 * Page-side source text (tsx would wrap a named function in a `__name` helper the page lacks). Signals only
 * count on a short page: a long article that merely mentions "Just a moment" or ships Cloudflare's
 * challenge-platform script (Cloudflare adds it to ordinary pages too) is not a challenge.
 */
export const DETECT_SCRIPT = `(() => {
  const body = document.body;
  const text = body ? (body.innerText || '').replace(/\\s+/g, ' ').trim() : '';
  const title = (document.title || '').trim();
  const short = text.length < 1500;
  const titles = [/^just a moment\\b/i, /^attention required!? \\| cloudflare/i, /^please wait\\b.*(?:cloudflare|security|check)/i,
    /^ddos-guard$/i, /^pardon our interruption/i, /^access to this page has been denied/i, /^checking your browser/i, /^verifying you are human/i,
    /^one more step$/i, /^are you a robot\\??$/i, /^human verification$/i, /^security check$/i];
  const texts = [/enable javascript and cookies to continue/i, /checking (?:if the site connection is secure|your browser before accessing)/i,
    /verify(?:ing)? (?:that )?you are (?:a )?human/i, /press (?:&|and) hold/i, /please enable js and disable any ad blocker/i,
    /needs to review the security of your connection before proceeding/i, /performing security verification/i,
    /request unsuccessful\\. incapsula incident id/i, /why have i been blocked\\?/i, /are you a robot/i];
  const selectors = ['#challenge-form', '#challenge-running', '#challenge-stage', '#cf-challenge-running', '.cf-browser-verification',
    '#cf-wrapper .cf-error-details', 'iframe[src*="challenges.cloudflare.com"]', 'iframe[src*="captcha-delivery.com"]',
    'script[src*="captcha-delivery.com"]', '#px-captcha', '#sec-if-cpt-container', '#sec-cpt-if', 'iframe[src*="_Incapsula_Resource"]',
    '#ddg-captcha', '.ddg-captcha'];
  let challenge = null;
  if (short) {
    if (titles.some((r) => r.test(title))) challenge = 'title';
    else if (texts.some((r) => r.test(text))) challenge = 'text';
    else { const s = selectors.find((q) => { try { return !!document.querySelector(q); } catch { return false; } }); if (s) challenge = s; }
  }
  // Blank: (almost) no text and nothing visible that is not text either.
  let visual = false;
  if (text.length < 20) {
    for (const el of document.querySelectorAll('img,svg,canvas,video,iframe,embed,object,picture,input,textarea,select,button')) {
      const r = el.getBoundingClientRect();
      if (r.width * r.height >= 2500) { visual = true; break; }
    }
    if (!visual) {
      for (const el of [document.documentElement, body, ...(body ? body.querySelectorAll('*') : [])].slice(0, 2000)) {
        if (!el) continue;
        const bg = getComputedStyle(el).backgroundImage;
        if (bg && bg !== 'none') { const r = el.getBoundingClientRect(); if (r.width * r.height >= 2500) { visual = true; break; } }
      }
    }
  }
  return { challenge, blank: text.length < 20 && !visual, textLength: text.length };
})()`;

export interface Detection {
  challenge: string | null;
  blank: boolean;
  textLength: number;
}

export function warningsFrom(d: Detection): PageWarning[] {
  if (d.challenge) return ['bot_challenge'];
  if (d.blank) return ['blank_page'];
  return [];
}
