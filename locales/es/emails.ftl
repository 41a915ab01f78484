# Los correos a los interesados y a los representantes autorizados.

## Todos los correos.
email-hello = Hola:
email-signature = El equipo de privacidad de {$organisation}
email-reference = Referencia: {$reference}
email-you-asked-for = Lo que solicitó: {$kind}
email-follow-here = Puede seguir su solicitud aquí:
email-see-here = Puede consultar su solicitud aquí:
email-follow-link = Seguir su solicitud
email-see-link = Consultar su solicitud
email-button-fallback = Si el botón no funciona, copie esta dirección en su navegador:
email-reason = Motivo:
email-download-button = Descargar una copia de sus datos

## verify
verify-subject = Confirme su solicitud de {$kind} ({$reference})
verify-heading = Confirme su solicitud de {$kind}
verify-intro-text =
    {$organisation} ha recibido una solicitud sobre datos personales en la
    que figura esta dirección de correo electrónico. Antes de actuar,
    confirme que la envió usted:
verify-intro = {$organisation} ha recibido una solicitud sobre datos personales en la que figura esta dirección de correo electrónico. Antes de actuar, confirme que la envió usted.
verify-agent =
    La solicitud la envió en su nombre {$agent}, que afirma que usted le
    autorizó a actuar en su nombre. Confírmela solo si es así. Todo lo que
    enviemos como respuesta (por ejemplo, una copia de sus datos) se le
    enviará a usted a esta dirección, no a esa persona.
verify-button = Confirmar mi solicitud
verify-expires =
    El enlace abre una página donde confirma la solicitud. Solo funciona una vez
    y caduca en {$hours ->
        [one] {$hours} hora
       *[other] {$hours} horas
    }.
verify-ignore =
    Si usted no hizo esta solicitud, puede ignorar este correo. No
    actuaremos y la solicitud caducará.

## received
received-subject = Hemos recibido su solicitud de {$kind} ({$reference})
received-heading = Hemos recibido su solicitud de {$kind}
received-intro =
    Hemos recibido su solicitud de {$kind} y nuestro equipo de privacidad la
    está tramitando.
received-due =
    Le responderemos a más tardar el {$due_date}. Si necesitamos más tiempo,
    le explicaremos el motivo antes de esa fecha.
received-due-html = Le responderemos a más tardar el <strong>{$due_date}</strong>. Si necesitamos más tiempo, le explicaremos el motivo antes de esa fecha.

## extended
extended-subject = Necesitamos más tiempo para su solicitud ({$reference})
extended-heading = Necesitamos más tiempo para su solicitud
extended-intro =
    Necesitamos más tiempo para responder a su solicitud, por lo que hemos
    ampliado el plazo.
extended-new-due = Nueva fecha límite:
extended-law =
    La normativa de protección de datos permite esta ampliación cuando una
    solicitud es compleja o cuando hemos recibido muchas solicitudes. Le
    responderemos lo antes posible y, como muy tarde, en la nueva fecha
    límite.

## on_hold
on-hold-subject = Su solicitud está en pausa ({$reference})
on-hold-heading = Su solicitud está en pausa
on-hold-intro = Hemos puesto su solicitud en pausa.
on-hold-paused =
    Mientras su solicitud esté en pausa, el plazo que tenemos para responder
    queda suspendido. Cuando reanudemos la tramitación, la fecha límite se
    desplazará el tiempo que la solicitud haya estado en pausa. Si el motivo
    anterior le pide algo, puede responder (y añadir archivos) en la página
    de seguimiento de su solicitud.
on-hold-running =
    El plazo que tenemos para responder sigue corriendo mientras su
    solicitud está en pausa: la fecha límite no cambia. Si el motivo
    anterior le pide algo, puede responder (y añadir archivos) en la página
    de seguimiento de su solicitud.

## denied
denied-subject = No podemos atender su solicitud ({$reference})
denied-heading = No podemos atender su solicitud
denied-intro = Hemos decidido no atender su solicitud.
denied-appeal =
    Puede recurrir esta decisión hasta el {$until}: abra el enlace a su
    solicitud que figura más abajo y elija «Recurrir esta decisión». Un
    miembro de nuestro equipo que no tomó esta decisión la revisará y le
    responderá en un plazo de {$within}. Si no está de acuerdo con la
    respuesta, puede presentar una reclamación ante {$authority}.
denied-appeal-html = <strong>Puede recurrir esta decisión</strong> hasta el {$until}: abra <a href="{$status_url}">su solicitud</a> y elija «Recurrir esta decisión». Un miembro de nuestro equipo que no tomó esta decisión la revisará y le responderá en un plazo de {$within}. Si no está de acuerdo con la respuesta, puede presentar una reclamación ante {$authority}.
denied-complain =
    Tiene derecho a presentar una reclamación ante una autoridad de control,
    como {$authority}.
denied-court =
    También tiene derecho a la tutela judicial, es decir, a llevar el asunto
    ante los tribunales.
denied-mistake =
    Si cree que nos hemos equivocado, o puede darnos información que cambie
    nuestra decisión, responda a este correo.

## completed
completed-subject = Su solicitud de {$kind} se ha completado ({$reference})
completed-heading = Su solicitud de {$kind} se ha completado
completed-intro = Hemos completado su solicitud de {$kind}.
completed-systems = Lo que hicimos en cada uno de nuestros sistemas:
completed-not-done =
    Donde un sistema indica «omitido» o «no realizado», no se cambió nada.
    Si cree que es un error, responda a este correo indicando la referencia
    que figura más abajo.
completed-download = Puede descargar una copia de sus datos aquí:
completed-download-soon =
    El enlace es válido durante un tiempo limitado, así que descargue el
    archivo pronto. La descarga incluye una guía que explica cada archivo.
completed-retained =
    Hemos conservado algunos de sus datos porque la ley nos obliga o nos
    permite conservarlos (artículo 17, apartado 3, del RGPD):
completed-retained-while = Conservamos estos datos solo mientras se mantenga ese motivo.
completed-recipients-asked = Nos pidió que le indicáramos quién recibió sus datos (artículo 19 del RGPD).
completed-recipients = Estos son los destinatarios de datos personales que figuran en nuestro registro de actividades de tratamiento:
completed-recipients-unknown =
    Nuestra lista de destinatarios aún no está registrada en este servicio,
    así que no podemos indicarlos aquí. Responda a este correo y se los
    indicaremos.

## expired
expired-subject = Su solicitud de {$kind} no se confirmó ({$reference})
expired-heading = Su solicitud de {$kind} no se confirmó
expired-intro =
    {$organisation} recibió una solicitud sobre datos personales en la que
    figuraba esta dirección de correo electrónico, pero la solicitud no se
    confirmó a tiempo. La hemos cerrado sin actuar.
expired-again = Si aún desea presentar la solicitud, envíela de nuevo.

## export_link
export-link-subject = Un nuevo enlace para descargar sus datos ({$reference})
export-link-heading = Un nuevo enlace para descargar sus datos
export-link-intro =
    Este es un nuevo enlace para descargar la copia de sus datos que
    preparamos para su solicitud de {$kind}:
export-link-soon =
    Los enlaces anteriores ya no funcionan. Este enlace es válido durante un
    tiempo limitado y para unas pocas descargas, así que descargue el
    archivo pronto. La descarga incluye una guía que explica cada archivo.

## restriction_lifted
restriction-lifted-subject = Vamos a levantar la limitación de sus datos ({$reference})
restriction-lifted-heading = Vamos a levantar la limitación de sus datos
restriction-lifted-intro =
    Nos pidió que limitáramos el tratamiento de sus datos personales y lo
    hicimos (solicitud {$reference}). Le escribimos antes de levantar esa
    limitación, como exige la ley (artículo 18, apartado 3, del RGPD).
restriction-lifted-why = Por qué la levantamos:
restriction-lifted-from-now =
    A partir de ahora volveremos a usar sus datos para los fines descritos
    en nuestra política de privacidad. Si no está de acuerdo, puede oponerse
    al tratamiento, pedirnos que suprimamos sus datos o presentar una
    reclamación ante {$authority}. Responda a este correo indicando la
    referencia que figura más abajo.

## duplicate
duplicate-subject = Su solicitud {$reference} repite una que ya estamos tramitando ({$first_reference})
duplicate-heading = Su solicitud repite una que ya estamos tramitando
duplicate-thanks = Gracias por confirmar su nueva solicitud de {$kind}.
duplicate-linked =
    Ya tiene con nosotros una solicitud del mismo tipo que estamos
    tramitando: {$first_reference}. Para no hacer nada dos veces, hemos
    vinculado a ella su nueva solicitud {$reference}. Le responderemos con
    la referencia {$first_reference}, en la fecha que le indicamos para
    ella.
duplicate-different =
    Si su nueva solicitud pide algo distinto, responda a este correo y
    díganos qué, y la tramitaremos por separado.
duplicate-see-here = Puede consultar su nueva solicitud aquí:
duplicate-see-link = Consultar su nueva solicitud

## appeal_decided
appeal-decided-subject = Nuestra decisión sobre su recurso ({$reference})
appeal-decided-heading = Nuestra decisión sobre su recurso
appeal-decided-intro =
    Hemos revisado su recurso contra nuestra decisión de denegar su
    solicitud {$original_reference} de {$kind}.
appeal-decided-reversed =
    Nuestra decisión: su recurso prospera. Hemos anulado la denegación y
    reabierto su solicitud.
appeal-decided-reversed-due =
    Nuestra decisión: su recurso prospera. Hemos anulado la denegación y
    reabierto su solicitud; le responderemos a más tardar el {$due_date}.
appeal-decided-stands = Nuestra decisión: la denegación se mantiene.
appeal-decided-reasons = Nuestros motivos:
appeal-decided-complain =
    Si no está conforme con esta decisión, puede presentar una reclamación
    ante {$authority}.
appeal-decided-complain-html = Si no está conforme con esta decisión, puede presentar una reclamación ante <a href="{$authority_url}">{$authority}</a>.

## message
message-subject = Un mensaje sobre su solicitud ({$reference})
message-heading = Un mensaje sobre su solicitud
message-intro = Tenemos un mensaje para usted sobre su solicitud:
message-answer =
    Puede volver a leerlo y responder (con archivos si es necesario) en la
    página de seguimiento de su solicitud:

## agent_received
agent-received-subject = Hemos recibido la solicitud que envió en nombre de otra persona ({$reference})
agent-received-heading = Hemos recibido la solicitud que envió en nombre de otra persona
agent-received-intro =
    Hemos recibido la solicitud que envió en nombre de otra persona, que
    pide: {$kind}.
agent-received-confirm =
    Hemos escrito a esa persona para que confirme la solicitud directamente.
    Actuaremos cuando la haya confirmado (o cuando hayamos aceptado su
    poder). Todo lo que enviemos como respuesta será para esa persona, no
    para usted, salvo que ella nos indique lo contrario.
agent-received-follow = Puede seguir el avance de la solicitud aquí:
agent-received-follow-link = Seguir la solicitud
