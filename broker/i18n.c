#include "broker/i18n.h"

#include <string.h>
#include <strings.h>

typedef struct message {
    const char *key;
    const char *en;
    const char *et;
} message;

/* The catalog. Keep keys sorted by the page they belong to. */
static const message catalog[] = {
    /* every page */
    {"brand", "eidhub", "eidhub"},
    {"error_title", "Something went wrong", "Midagi läks valesti"},
    {"bad_request", "The login request is not valid.", "Sisselogimise päring ei ole korrektne."},
    {"session_expired",
     "Your login session has expired or was not found. Please start again from the service you "
     "were logging in to.",
     "Teie sisselogimise seanss on aegunud või puudub. Alustage uuesti teenusest, kuhu soovisite "
     "sisse logida."},
    {"forbidden", "This form has expired. Please start again.",
     "See vorm on aegunud. Palun alustage uuesti."},
    {"store_unavailable", "The login service is temporarily unavailable. Please try again soon.",
     "Sisselogimise teenus on ajutiselt kättesaamatu. Palun proovige varsti uuesti."},
    {"try_again", "Try again", "Proovi uuesti"},
    {"cancel", "Cancel and return to the service", "Katkesta ja naase teenusesse"},
    /* protected applications (eidhub_protect) */
    {"protect_login_required", "Please log in to use this service.",
     "Selle teenuse kasutamiseks logige palun sisse."},
    {"protect_failed", "The login was not completed.", "Sisselogimine jäi lõpetamata."},
    /* method choice */
    {"login_title", "Log in", "Sisselogimine"},
    {"login_to", "You are logging in to", "Te logite sisse teenusesse"},
    {"choose_method", "Choose how to prove who you are", "Valige, kuidas tõendate oma isikut"},
    {"no_method", "None of the login methods meets the level of assurance this service requires.",
     "Ükski sisselogimise viis ei vasta selle teenuse nõutud tagatistasemele."},
    {"method_mobile_id", "Mobile-ID", "Mobiil-ID"},
    {"method_smart_id", "Smart-ID", "Smart-ID"},
    /* single sign-on and the citizen's page */
    {"sso_title", "Continue?", "Kas jätkate?"},
    {"sso_already", "You are already logged in with", "Olete juba sisse loginud:"},
    {"sso_asks", "asks who you are.", "soovib teada, kes te olete."},
    {"sso_continue", "Continue", "Jätka"},
    {"sso_other", "Log in again", "Logi uuesti sisse"},
    {"logout_title", "Logged out", "Välja logitud"},
    {"logout_done", "You have been logged out of every service of this session.",
     "Olete selle seansi kõigist teenustest välja logitud."},
    {"me_title", "My eidhub", "Minu eidhub"},
    {"me_intro", "Where your identity was used, and what was told about you:",
     "Kus teie isikut kasutati ja mida teie kohta edastati:"},
    {"me_none", "No releases in the retention period.", "Säilitusajal andmeid edastatud ei ole."},
    {"me_when", "When", "Millal"},
    {"me_to", "To", "Kellele"},
    {"me_level", "Level", "Tase"},
    {"me_method", "Method", "Viis"},
    {"me_what", "What", "Mida"},
    {"me_end_sessions", "End my sessions", "Lõpeta minu seansid"},
    {"me_login_first",
     "Log in to a service through eidhub first: this page shows the releases of the person who "
     "is logged in.",
     "Logige esmalt eidhubi kaudu mõnda teenusesse sisse: see leht näitab sisse loginud isiku "
     "andmete edastamisi."},
    /* consent */
    {"consent_title", "Share your data?", "Kas jagate oma andmeid?"},
    {"consent_intro", "If you continue, eidhub will tell", "Jätkamisel edastab eidhub teenusele"},
    {"consent_subject", "an identifier for you at this service",
     "teie tunnuse selles teenuses"},
    {"consent_allow", "Allow and continue", "Luba ja jätka"},
    {"consent_deny", "Do not share", "Ära jaga"},
    {"yes", "yes", "jah"},
    {"no", "no", "ei"},
    {"attr_person_identifier", "Your personal identification code", "Teie isikukood"},
    {"attr_given_name", "Your first name", "Teie eesnimi"},
    {"attr_family_name", "Your surname", "Teie perekonnanimi"},
    {"attr_date_of_birth", "Your date of birth", "Teie sünniaeg"},
    {"attr_birth_name", "Your name at birth", "Teie sünnijärgne nimi"},
    {"attr_place_of_birth", "Your place of birth", "Teie sünnikoht"},
    {"attr_current_address", "Your address", "Teie aadress"},
    {"attr_gender", "Your gender", "Teie sugu"},
    {"attr_age_over", "Whether you are at least this old:", "Kas olete vähemalt nii vana:"},
    {"attr_age_band", "Your age group", "Teie vanuserühm"},
    {"attr_country", "The country of your identity", "Teie isikut tõendava riigi kood"},
    {"attr_is_resident_of", "Whether your identity is from", "Kas teie isik on pärit riigist"},
    /* Mobile-ID */
    {"mid_title", "Log in with Mobile-ID", "Sisselogimine Mobiil-ID-ga"},
    {"mid_phone", "Phone number", "Telefoninumber"},
    {"mid_code", "Personal identification code", "Isikukood"},
    {"mid_submit", "Continue", "Jätka"},
    {"mid_bad_phone", "Enter the phone number in international format, for example +37255555555.",
     "Sisestage telefoninumber rahvusvahelisel kujul, näiteks +37255555555."},
    {"mid_bad_code", "This personal identification code is not valid.",
     "See isikukood ei ole korrektne."},
    {"mid_rate_limited", "Too many login attempts. Please wait a few minutes and try again.",
     "Liiga palju sisselogimiskatseid. Palun oodake mõni minut ja proovige uuesti."},
    {"mid_verification_code", "Verification code", "Kontrollkood"},
    {"mid_check_phone",
     "Make sure the verification code on your phone is the same as this one, then enter your "
     "Mobile-ID PIN1.",
     "Veenduge, et telefonil kuvatav kontrollkood on sama, ja sisestage Mobiil-ID PIN1."},
    {"mid_waiting", "Waiting for your phone…", "Ootame vastust telefonilt…"},
    {"mid_USER_CANCELLED", "You cancelled the login on your phone.",
     "Te katkestasite sisselogimise telefonis."},
    {"mid_TIMEOUT", "You did not answer on your phone in time.",
     "Te ei vastanud telefonis õigel ajal."},
    {"mid_NOT_MID_CLIENT", "This phone number and personal code have no active Mobile-ID.",
     "Sellel telefoninumbril ja isikukoodil ei ole kehtivat Mobiil-ID-d."},
    {"mid_PHONE_ABSENT", "Your phone could not be reached. Check that it is on and has coverage.",
     "Teie telefon ei ole kättesaadav. Veenduge, et see on sisse lülitatud ja levialas."},
    {"mid_DELIVERY_ERROR", "The request could not be delivered to your phone.",
     "Päringut ei õnnestunud teie telefonile edastada."},
    {"mid_SIM_ERROR", "Your SIM card answered with an error.", "Teie SIM-kaart vastas veaga."},
    {"mid_SIGNATURE_HASH_MISMATCH",
     "The Mobile-ID settings on your SIM card do not match. Please contact your mobile operator.",
     "Mobiil-ID seadistus teie SIM-kaardil ei ühti. Palun pöörduge oma mobiilsideoperaatori "
     "poole."},
    {"mid_verify_failed", "Your Mobile-ID answer could not be verified.",
     "Teie Mobiil-ID vastust ei õnnestunud kontrollida."},
    {"mid_unavailable", "The Mobile-ID service is not available right now. Please try again later.",
     "Mobiil-ID teenus ei ole praegu kättesaadav. Palun proovige hiljem uuesti."},
    {"mid_revoked",
     "Your Mobile-ID certificate has been revoked, so it cannot be used to log in. Please "
     "contact your mobile operator.",
     "Teie Mobiil-ID sertifikaat on tühistatud, sellega ei saa sisse logida. Palun pöörduge oma "
     "mobiilsideoperaatori poole."},
    {"mid_revocation_unavailable",
     "The validity of your Mobile-ID certificate cannot be checked right now. Please try again "
     "later.",
     "Teie Mobiil-ID sertifikaadi kehtivust ei saa praegu kontrollida. Palun proovige hiljem "
     "uuesti."},
    /* Smart-ID */
    {"sid_title", "Log in with Smart-ID", "Sisselogimine Smart-ID-ga"},
    {"sid_country", "Country of your personal code", "Isikukoodi riik"},
    {"country_EE", "Estonia", "Eesti"},
    {"country_LV", "Latvia", "Läti"},
    {"country_LT", "Lithuania", "Leedu"},
    {"sid_code", "Personal identification code", "Isikukood"},
    {"sid_use_document", "Log in with a Smart-ID document number instead",
     "Logi sisse hoopis Smart-ID dokumendi numbriga"},
    {"sid_document", "Smart-ID document number", "Smart-ID dokumendi number"},
    {"sid_submit", "Continue", "Jätka"},
    {"sid_bad_code", "This personal identification code is not valid for the chosen country.",
     "See isikukood ei ole valitud riigi jaoks korrektne."},
    {"sid_bad_document", "This Smart-ID document number is not valid.",
     "See Smart-ID dokumendi number ei ole korrektne."},
    {"sid_rate_limited", "Too many login attempts. Please wait a few minutes and try again.",
     "Liiga palju sisselogimiskatseid. Palun oodake mõni minut ja proovige uuesti."},
    {"sid_display_text", "Log in", "Sisselogimine"},
    {"sid_verification_code", "Verification code", "Kontrollkood"},
    {"sid_check_phone",
     "Open the Smart-ID app on your device, choose this verification code there (or check that it "
     "is the same), then enter your Smart-ID PIN1.",
     "Avage oma seadmes Smart-ID rakendus, valige seal see kontrollkood (või veenduge, et see on "
     "sama) ja sisestage Smart-ID PIN1."},
    {"sid_waiting", "Waiting for the Smart-ID app…", "Ootame vastust Smart-ID rakendusest…"},
    {"sid_USER_REFUSED", "You cancelled the login in the Smart-ID app.",
     "Te katkestasite sisselogimise Smart-ID rakenduses."},
    {"sid_USER_REFUSED_DISPLAYTEXTANDPIN",
     "You cancelled the login in the Smart-ID app when it asked for your PIN.",
     "Te katkestasite sisselogimise Smart-ID rakenduses PIN-koodi küsimisel."},
    {"sid_USER_REFUSED_VC_CHOICE",
     "You cancelled the login in the Smart-ID app when it asked you to choose the verification "
     "code.",
     "Te katkestasite sisselogimise Smart-ID rakenduses kontrollkoodi valimisel."},
    {"sid_USER_REFUSED_CONFIRMATIONMESSAGE",
     "You cancelled the login in the Smart-ID app on its confirmation screen.",
     "Te katkestasite sisselogimise Smart-ID rakenduse kinnitusaknas."},
    {"sid_USER_REFUSED_CONFIRMATIONMESSAGE_WITH_VC_CHOICE",
     "You cancelled the login in the Smart-ID app on its confirmation and verification code "
     "screen.",
     "Te katkestasite sisselogimise Smart-ID rakenduse kinnituse ja kontrollkoodi aknas."},
    {"sid_USER_REFUSED_CERT_CHOICE",
     "You cancelled the login in the Smart-ID app when it asked you to choose an account.",
     "Te katkestasite sisselogimise Smart-ID rakenduses konto valimisel."},
    {"sid_TIMEOUT", "You did not answer in the Smart-ID app in time.",
     "Te ei vastanud Smart-ID rakenduses õigel ajal."},
    {"sid_DOCUMENT_UNUSABLE",
     "Your Smart-ID account cannot be used right now. Open the Smart-ID app or contact Smart-ID "
     "support.",
     "Teie Smart-ID kontot ei saa praegu kasutada. Avage Smart-ID rakendus või pöörduge Smart-ID "
     "klienditoe poole."},
    {"sid_WRONG_VC", "You chose the wrong verification code in the Smart-ID app. Please try again.",
     "Valisite Smart-ID rakenduses vale kontrollkoodi. Palun proovige uuesti."},
    {"sid_REQUIRED_INTERACTION_NOT_SUPPORTED_BY_APP",
     "Your Smart-ID app cannot do this login. Update the app and try again.",
     "Teie Smart-ID rakendus ei toeta seda sisselogimist. Uuendage rakendust ja proovige uuesti."},
    {"sid_ACCOUNT_NOT_FOUND", "No Smart-ID account for this personal code or document number.",
     "Selle isikukoodi või dokumendi numbriga Smart-ID kontot ei ole."},
    {"sid_NO_SUITABLE_ACCOUNT",
     "Your Smart-ID account cannot be used for this login: its level is too low.",
     "Teie Smart-ID kontot ei saa selleks sisselogimiseks kasutada: selle tase on liiga madal."},
    {"sid_VIEW_APP", "Your Smart-ID account has a problem: open the Smart-ID app.",
     "Teie Smart-ID kontoga on probleem: avage Smart-ID rakendus."},
    {"sid_CLIENT_TOO_OLD",
     "Smart-ID cannot be used here right now: this service's connection to Smart-ID is out of "
     "date. Please choose another way to log in.",
     "Smart-ID-d ei saa siin praegu kasutada: selle teenuse ühendus Smart-ID-ga on aegunud. "
     "Palun valige muu sisselogimise viis."},
    {"sid_UNDER_MAINTENANCE", "Smart-ID is under maintenance: try again later.",
     "Smart-ID teenuses on hooldustööd: proovige hiljem uuesti."},
    {"sid_verify_failed", "Your Smart-ID answer could not be verified.",
     "Teie Smart-ID vastust ei õnnestunud kontrollida."},
    {"sid_unavailable", "The Smart-ID service is not available right now. Please try again later.",
     "Smart-ID teenus ei ole praegu kättesaadav. Palun proovige hiljem uuesti."},
    {"sid_revoked",
     "Your Smart-ID certificate has been revoked, so it cannot be used to log in. Open the "
     "Smart-ID app to renew your account.",
     "Teie Smart-ID sertifikaat on tühistatud, sellega ei saa sisse logida. Avage Smart-ID "
     "rakendus, et oma konto uuendada."},
    {"sid_revocation_unavailable",
     "The validity of your Smart-ID certificate cannot be checked right now. Please try again "
     "later.",
     "Teie Smart-ID sertifikaadi kehtivust ei saa praegu kontrollida. Palun proovige hiljem "
     "uuesti."},
    /* national OpenID Connect eID providers (each labelled with its display_name) */
    {"method_oidc_upstream", "National eID", "Riiklik e-identiteet"},
    {"method_eidas", "Citizen of another EU country (eIDAS)", "Teise ELi riigi kodanik (eIDAS)"},
    {"eidas_title", "Log in with your country's eID (eIDAS)", "Sisselogimine oma riigi e-identiteediga (eIDAS)"},
    {"eidas_unknown_country", "Logging in with this country's eID is not available.",
     "Selle riigi e-identiteediga sisselogimine ei ole võimalik."},
    {"eidas_not_allowed", "This service does not accept logins from this country.",
     "See teenus ei luba sisselogimist sellest riigist."},
    {"eidas_unavailable", "Your country's eIDAS node cannot be reached right now. Please try again later.",
     "Teie riigi eIDAS-sõlm ei ole praegu kättesaadav. Palun proovige hiljem uuesti."},
    {"eidas_bad_response", "The answer of your country's eIDAS node could not be accepted.",
     "Teie riigi eIDAS-sõlme vastust ei saanud vastu võtta."},
    {"eidas_unsolicited", "This answer does not belong to a login of this browser.",
     "See vastus ei kuulu selle brauseri sisselogimisele."},
    {"eidas_denied", "The login was cancelled at your country's eIDAS node.",
     "Sisselogimine katkestati teie riigi eIDAS-sõlmes."},
    {"eidas_loa_too_low", "Your country's eID does not give the level of assurance this service needs.",
     "Teie riigi e-identiteet ei anna selle teenuse nõutud tagatistaset."},
    {"eidas_failed", "Your country's eIDAS node could not authenticate you.",
     "Teie riigi eIDAS-sõlm ei suutnud teid tuvastada."},
    {"saml_post_title", "One moment", "Üks hetk"},
    {"saml_post_wait", "Sending you on. If nothing happens, press Continue.", "Suuname teid edasi. Kui midagi ei juhtu, vajutage Jätka."},
    {"continue", "Continue", "Jätka"},
    /* the eIDAS Proxy-Service: a foreign Connector's request we cannot answer */
    {"eidas_proxy_bad_request", "The authentication request from the other country's service is not valid.",
     "Teise riigi teenuse autentimispäring ei ole korrektne."},
    {"eidas_proxy_post_only", "This service accepts authentication requests only by the HTTP-POST binding.",
     "See teenus võtab autentimispäringuid vastu ainult HTTP-POST sidumisega."},
    {"eidas_proxy_replayed", "This authentication request was already used. Please start again from the service.",
     "Seda autentimispäringut on juba kasutatud. Palun alustage uuesti teenusest."},
    {"eidas_proxy_unavailable", "The other country's service cannot be reached right now. Please try again later.",
     "Teise riigi teenusega ei saa praegu ühendust. Palun proovige hiljem uuesti."},
    {"oidc_title", "Log in with a national eID", "Sisselogimine riikliku e-identiteediga"},
    {"oidc_choose_another", "Choose another way to log in", "Vali muu sisselogimise viis"},
    {"oidc_unknown_provider", "This login method is not available.",
     "See sisselogimise viis ei ole saadaval."},
    {"oidc_loa_unavailable",
     "This eID service cannot confirm your identity at the level of assurance this service "
     "requires.",
     "See e-identiteedi teenus ei saa kinnitada teie isikut selle teenuse nõutud tagatistasemel."},
    {"oidc_unavailable", "The eID service is not available right now. Please try again later.",
     "E-identiteedi teenus ei ole praegu kättesaadav. Palun proovige hiljem uuesti."},
    {"oidc_access_denied", "The login was cancelled or refused at the eID service.",
     "Sisselogimine katkestati või lükati e-identiteedi teenuses tagasi."},
    {"oidc_provider_error", "The eID service could not log you in.",
     "E-identiteedi teenus ei saanud teid sisse logida."},
    {"oidc_failed", "The eID service's answer could not be verified.",
     "E-identiteedi teenuse vastust ei õnnestunud kontrollida."},
    {"oidc_mixup", "The answer came from another eID service than the one you chose.",
     "Vastus tuli teiselt e-identiteedi teenuselt kui see, mille valisite."},
    {"oidc_loa_too_low",
     "The eID service confirmed your identity at a lower level of assurance than this service "
     "requires.",
     "E-identiteedi teenus kinnitas teie isiku madalamal tagatistasemel, kui see teenus nõuab."},
    {"oidc_state_mismatch",
     "This answer does not belong to the login in progress in this browser. Please start again "
     "from the service you were logging in to.",
     "See vastus ei kuulu selles brauseris pooleliolevale sisselogimisele. Alustage uuesti "
     "teenusest, kuhu soovisite sisse logida."},
};

const char *eh_i18n(const char *locale, const char *key)
{
    int et = locale != NULL && strcmp(locale, "et") == 0;
    for (size_t i = 0; i < sizeof(catalog) / sizeof(catalog[0]); i++) {
        if (strcmp(catalog[i].key, key) == 0)
            return et ? catalog[i].et : catalog[i].en;
    }
    return key;
}

const char *eh_i18n_pick(const char *preferences)
{
    static const char *const supported[] = {"et", "en"};
    const char *p = preferences;

    if (p == NULL)
        return NULL;
    while (*p) {
        size_t len;
        while (*p == ' ' || *p == ',')
            p++;
        len = strcspn(p, " ,;");
        /* "et", "et-EE", "en-GB" all match on the language part */
        for (size_t i = 0; i < sizeof(supported) / sizeof(supported[0]); i++) {
            if (len >= 2 && strncasecmp(p, supported[i], 2) == 0 && (len == 2 || p[2] == '-'))
                return supported[i];
        }
        p += len;
        while (*p && *p != ' ' && *p != ',')
            p++; /* skip ";q=0.8" */
    }
    return NULL;
}

const char *eh_i18n_locale_of_request(const eh_http_request *req)
{
    const char *pick = eh_i18n_pick(eh_http_header_get(req, "Accept-Language"));
    return pick ? pick : "en";
}
