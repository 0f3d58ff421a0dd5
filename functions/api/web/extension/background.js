// HT Base extension, background (Chrome service worker / Firefox event page): a context-menu entry that archives a
// link or the page it is on, by opening the popup for that URL, which does the archiving and shows its progress.
const api = globalThis.browser ?? globalThis.chrome;

api.runtime.onInstalled.addListener(() => {
  api.contextMenus.create({ id: 'htbase-archive', title: 'Archive with HT Base', contexts: ['page', 'link'] });
});

api.contextMenus.onClicked.addListener((info) => {
  const url = info.linkUrl || info.pageUrl;
  if (!url) return;
  api.windows.create({
    url: `${api.runtime.getURL('popup.html')}#url=${encodeURIComponent(url)}`,
    type: 'popup',
    width: 380,
    height: 520,
  });
});
