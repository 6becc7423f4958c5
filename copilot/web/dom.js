/* One element builder for every console script, so user text can only ever become text.
 *
 * el(tag, {class, text, onclick, ...attrs}, ...children): "text" and string children become text
 * nodes (never parsed as HTML); on* keys become listeners; null/undefined/false attributes and
 * children are left out, true becomes an empty attribute. Load it before the scripts that use it.
 */
(function () {
  "use strict";

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "class") node.className = value;
      else if (key === "text") node.textContent = value;
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? "" : String(value));
    }
    for (const child of children) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  window.SwitchboardDom = { el };
})();
