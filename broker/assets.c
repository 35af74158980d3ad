/* eidhub: the stylesheet and script of the citizen's pages, served from
 * memory (no file system access, no inline code). */
#include <string.h>

#include "broker/page.h"

static const char eh_css[] =
    ":root{--fg:#1b1f24;--muted:#57606a;--accent:#0b5cad;--bg:#f6f8fa;--err:#b42318}\n"
    "*{box-sizing:border-box}\n"
    "body{margin:0;font:16px/1.5 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;"
    "color:var(--fg);background:var(--bg)}\n"
    "header{background:var(--accent);color:#fff;padding:.75rem 1.25rem;font-weight:600}\n"
    "main{max-width:32rem;margin:2rem auto;background:#fff;padding:1.5rem 2rem;"
    "border-radius:8px;box-shadow:0 1px 3px rgba(0,0,0,.12)}\n"
    "h1{font-size:1.4rem;margin-top:0}\n"
    ".requester{font-weight:600}\n"
    ".methods{list-style:none;padding:0}\n"
    ".methods li{margin:.5rem 0}\n"
    ".button,button{display:inline-block;background:var(--accent);color:#fff;border:0;"
    "border-radius:6px;padding:.6rem 1.2rem;font-size:1rem;text-decoration:none;cursor:pointer}\n"
    ".methods .button{display:block;text-align:center}\n"
    ".secondary{background:none;color:var(--accent);padding:0;text-decoration:underline}\n"
    "label{display:block;margin-top:1rem;font-weight:600}\n"
    "input[type=text],input[type=tel]{width:100%;padding:.5rem;font-size:1rem;"
    "border:1px solid #8c959f;border-radius:6px}\n"
    ".error{color:var(--err);font-weight:600}\n"
    ".code{font-size:2.5rem;letter-spacing:.3rem;font-weight:700;text-align:center}\n"
    "form.inline{display:inline}\n";

/* The status page polls its status URL while the phone is asked, then goes
 * to the next URL. Without JavaScript a meta refresh does the same. A form
 * marked data-autosubmit (a SAML message on its way to another node) is
 * sent at once; without JavaScript its button does it. */
static const char eh_js[] =
    "'use strict';\n"
    "(function(){\n"
    "  var f=document.querySelector('form[data-autosubmit]');\n"
    "  if(f)f.submit();\n"
    "})();\n"
    "(function(){\n"
    "  var el=document.getElementById('eh-poll');\n"
    "  if(!el)return;\n"
    "  var status=el.getAttribute('data-status'),next=el.getAttribute('data-next');\n"
    "  function poll(){\n"
    "    fetch(status,{credentials:'same-origin',cache:'no-store'})\n"
    "      .then(function(r){return r.json();})\n"
    "      .then(function(s){if(s.state==='RUNNING'){setTimeout(poll,500);}"
    "else{window.location.assign(next);}})\n"
    "      .catch(function(){setTimeout(poll,2000);});\n"
    "  }\n"
    "  poll();\n"
    "})();\n";

/* send_asset answers a static text, cacheable for an hour. */
static eh_rc send_asset(eh_http_response *resp, const char *type, const char *text, size_t len)
{
    eh_rc rc = eh_http_response_set_body(resp, 200, type, text, len);
    if (rc == EH_OK)
        rc = eh_http_response_set_header(resp, "Cache-Control", "public, max-age=3600");
    return rc;
}

eh_rc eh_assets_css_handle(struct eh_broker *b, const eh_http_request *req,
                           eh_http_response *resp)
{
    (void)b;
    (void)req;
    return send_asset(resp, "text/css; charset=utf-8", eh_css, sizeof(eh_css) - 1);
}

eh_rc eh_assets_js_handle(struct eh_broker *b, const eh_http_request *req,
                          eh_http_response *resp)
{
    (void)b;
    (void)req;
    return send_asset(resp, "text/javascript; charset=utf-8", eh_js, sizeof(eh_js) - 1);
}
