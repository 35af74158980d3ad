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
    /* method choice */
    {"login_title", "Log in", "Sisselogimine"},
    {"login_to", "You are logging in to", "Te logite sisse teenusesse"},
    {"choose_method", "Choose how to prove who you are", "Valige, kuidas tõendate oma isikut"},
    {"no_method", "None of the login methods meets the level of assurance this service requires.",
     "Ükski sisselogimise viis ei vasta selle teenuse nõutud tagatistasemele."},
    {"method_mobile_id", "Mobile-ID", "Mobiil-ID"},
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
