// "Archive from your browser": the bookmarklet (it opens this app's Web Share Target with the tab's URL, so the
// archiving runs here, same-origin, with the person's key: no page's CSP or CORS is in the way), the extension and
// the SingleFile upload settings.
import { h } from 'preact';

/** The bookmarklet's code for this server: a new tab on /?share-url=<the current tab's address>. */
export function bookmarkletHref(origin: string): string {
  const code = `(()=>{window.open(${JSON.stringify(`${origin}/?share-url=`)}+encodeURIComponent(location.href),'_blank','noopener')})()`;
  return `javascript:${encodeURI(code)}`;
}

export function CaptureTools() {
  const origin = location.origin;
  return h(
    'section',
    { class: 'capture-tools', 'aria-labelledby': 'capture-tools-title' },
    h('h2', { id: 'capture-tools-title' }, 'Archive from your browser'),
    h(
      'p',
      null,
      'Drag this link to your bookmarks bar; clicking it on any page archives that page: ',
      h(
        'a',
        {
          href: bookmarkletHref(origin),
          class: 'bookmarklet',
          // Clicked here it would do nothing useful (and the app's CSP blocks it): it is meant to be dragged.
          onClick: (e: Event) => e.preventDefault(),
        },
        'Archive to HT Base',
      ),
    ),
    h(
      'p',
      null,
      h('a', { href: '/extension.zip', download: 'htbase-extension.zip' }, 'Download the browser extension'),
      ' (Chrome and Firefox; load it unpacked, then set this server and an API key in its popup).',
    ),
    h(
      'p',
      null,
      'Pages behind a login, saved with SingleFile: in its options choose "upload to a REST form API" with the URL ',
      h('code', null, `${origin}/archives/upload`),
      ', your API key as the token, file field ',
      h('code', null, 'file'),
      ' and URL field ',
      h('code', null, 'url'),
      '.',
    ),
  );
}
