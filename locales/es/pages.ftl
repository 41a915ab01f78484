# Las páginas para los interesados: formulario, confirmación, seguimiento y página del representante.

## Todas las páginas.
site-title = Sus derechos de privacidad
site-header = Solicitudes de privacidad
language-switcher = Idioma

## El formulario de solicitud.
form-title = Presentar una solicitud de privacidad
form-heading = Presentar una solicitud sobre sus datos personales
form-intro = Puede pedirnos una copia de sus datos, que los corrijamos, que los suprimamos, que limitemos su uso o que dejemos de usarlos, o recibirlos en un formato portable. Respondemos en un plazo de {$days} días.
form-gpc = Hemos recibido la señal Global Privacy Control de su navegador. Más abajo hemos elegido por usted la exclusión voluntaria de la venta y el intercambio de su información personal: confirme su dirección y la respetaremos.
form-kind = ¿Qué desea que hagamos?
form-email = Su dirección de correo electrónico
form-email-hint = Enviamos un enlace a esta dirección para confirmar que es suya.
form-name = Su nombre
form-optional = (opcional)
form-details = Cualquier dato que nos ayude a encontrar su información
form-residence = Dónde vive
form-residence-hint-html = El código de su país, por ejemplo <em>DE</em> o <em>BR</em>; en Estados Unidos también su estado, por ejemplo <em>US-VA</em>. Nos indica qué ley de privacidad se aplica a su solicitud.
form-account-default-label = Número de cliente
form-account-needed-for = (necesario para: {$kinds})
form-account-hint = Para que solo usted reciba sus datos, comprobamos esta información en nuestros registros.
form-scope = A qué se opone
form-scope-only = (solo para una oposición)
form-scope-marketing = Correos electrónicos y otra publicidad directa (siempre dejamos de enviarla)
form-scope-profiling = Elaboración de perfiles, por ejemplo puntuarle o segmentarle
form-scope-processing = Otro uso de mis datos, que indico a continuación
form-processing = El uso de sus datos al que se opone
form-processing-only = (solo para «otro uso»)
form-corrections = Correcciones
form-corrections-only = (solo para una solicitud de rectificación)
form-corrections-hint-html = Una por línea, como <em>campo: valor correcto</em>, por ejemplo <em>name: Ada Lovelace</em>.
form-recipients = Quiero saber quién recibió mis datos
form-recipients-hint = Cuando hemos suprimido, corregido o limitado sus datos, se lo comunicamos a las empresas con las que los compartimos. Marque esta casilla y las indicaremos en nuestra respuesta.
form-agent-legend = ¿Presenta la solicitud en nombre de otra persona?
form-agent-check = Presento la solicitud en nombre de otra persona (como su representante autorizado)
form-agent-hint = En ese caso, la dirección de correo electrónico de arriba es la suya: le escribimos para que confirme la solicitud, y todo lo que enviemos como respuesta será para esa persona, no para usted.
form-agent-name = Su nombre
form-agent-email-hint = Le enviamos un enlace para seguir el avance de la solicitud.
form-agent-organisation = Su organización
form-agent-document = La autorización firmada de la persona
form-agent-document-types = (PDF, PNG, JPEG o texto, 10 MB como máximo)
form-agent-statement = O bien: su poder
form-agent-statement-hint = (quién se lo otorgó, cuándo y para qué)
form-submit = Enviar solicitud

## Problemas con el formulario enviado.
form-error-unreadable = No se pudo leer el formulario. Vuelva a rellenarlo.
form-error-too-large = Los archivos son demasiado grandes en conjunto. Envíe como máximo 3 archivos de 10 MB cada uno.
form-error-one-file = Añada un archivo: la autorización firmada.
form-error-kind = Elija qué desea que hagamos.
form-error-corrections = escriba cada corrección como `campo: valor correcto` (línea «{$line}»)

## Después de enviar el formulario.
submitted-title = Revise su correo electrónico
submitted-agent = Enviaremos a la persona a la que representa, a la dirección que indicó, un enlace para confirmar la solicitud; actuaremos cuando la haya confirmado. Usted recibirá un correo electrónico con un enlace para seguir su avance.
submitted-subject = Si la dirección que indicó es suya, en unos minutos recibirá un correo electrónico nuestro con un enlace para confirmar su solicitud.
submitted-reference-html = La referencia de su solicitud es <span class="ref">{$reference}</span>. El enlace es válido durante {$hours} horas.
submitted-nothing-arrived = ¿No ha recibido nada? Revise su carpeta de correo no deseado o vuelva a enviar el formulario para obtener un nuevo enlace.

## El enlace de confirmación.
confirm-title = Confirme su solicitud
confirm-question-html = Confirme que ha solicitado <strong>{$kind}</strong> (referencia <span class="ref">{$reference}</span>).
confirm-why = Solo empezamos cuando usted confirma, para que nadie pueda presentar una solicitud en su nombre.
confirm-button = Sí, es mi solicitud
verified-title = Solicitud confirmada
verified-heading = Gracias, su solicitud está confirmada
verified-due-html = Referencia <span class="ref">{$reference}</span>. Le responderemos a más tardar el <strong>{$due_date}</strong>.
verified-status-link = Le hemos enviado un correo electrónico con un enlace donde puede seguir su solicitud.

## Un enlace que ya no es válido.
gone-title = Enlace no válido
gone-heading = Este enlace ya no es válido
gone-why = Puede que el enlace ya se haya usado, haya caducado o esté incompleto.
gone-again-html = Si aún desea presentar una solicitud, <a href="/">vuelva a enviar el formulario</a> y le enviaremos un nuevo enlace.

## Respuestas breves a lo que hizo el interesado.
message-back = Volver al formulario de solicitud
message-not-accepted = No aceptado
message-too-long = Lo que envió es demasiado largo. Acórtelo e inténtelo de nuevo.
message-unreadable = No se pudo leer lo que envió. Vuelva atrás e inténtelo de nuevo.
message-too-much-text = Demasiado texto
message-too-much-text-text = El formulario que envió supera el tamaño que aceptamos. Acórtelo e inténtelo de nuevo.
message-wait = Espere un momento, por favor
message-wait-intake = Hemos recibido recientemente varias solicitudes suyas o para esta dirección. Inténtelo de nuevo más tarde.
message-wait-link = Ya le hemos enviado el enlace varias veces hoy. Busque nuestro correo electrónico o inténtelo de nuevo mañana.
message-error = Algo salió mal
message-error-intake = No pudimos registrar su solicitud en este momento. Inténtelo de nuevo dentro de unos minutos.
message-error-download = No pudimos preparar su descarga en este momento. Inténtelo de nuevo dentro de unos minutos.
message-answer-not-sent = Su respuesta no se envió
message-go-back = {$problem} Vuelva atrás e inténtelo de nuevo.
message-nothing-sent = No se envió nada
message-nothing-sent-text = Su respuesta estaba vacía, así que no enviamos nada. Vuelva atrás para escribir una respuesta o añadir un archivo.
message-thanks = Gracias
message-answer-received = Hemos recibido su respuesta. Si su solicitud la estaba esperando, hemos reanudado su tramitación. Puede seguirla en la misma página que antes.
message-no-answers = Esta solicitud ya no admite respuestas.
message-link-sent = Enlace enviado
message-link-sent-text = Hemos enviado el enlace de descarga a la dirección que indicó en su solicitud. Puede tardar unos minutos en llegar.
message-no-package = No hay ningún paquete para descargar
message-no-package-text = Ahora mismo no hay ningún paquete con sus datos que se pueda descargar. Para obtener una nueva copia, responda a nuestro correo de finalización indicando su referencia.
message-objection-withdrawn = Oposición retirada
message-objection-lifted = Hemos quitado su dirección de nuestra lista de exclusión. Podemos volver a usar sus datos para la finalidad a la que se había opuesto; puede volver a oponerse en cualquier momento.
message-objection-stopped = Hemos dejado de tramitar su oposición. Puede volver a oponerse en cualquier momento.
message-nothing-to-withdraw = Nada que retirar
message-nothing-to-withdraw-text = Esta solicitud no tiene ninguna oposición vigente que se pueda retirar.
message-opt-out-taken-back = Exclusión voluntaria retirada
message-opt-out-taken-back-text = Estamos retirando su exclusión voluntaria (solicitud {$reference}): nuestros sistemas volverán a tratar sus datos como antes, y quitaremos su dirección de nuestra lista de exclusión para ella. Le escribiremos cuando esté hecho. Puede volver a excluirse en cualquier momento.
message-opt-out-withdrawn = Exclusión voluntaria anulada
message-opt-out-withdrawn-text = Hemos dejado de tramitar su exclusión voluntaria. Puede volver a excluirse en cualquier momento.
message-nothing-to-take-back = Nada que retirar
message-nothing-to-take-back-text = Esta solicitud no tiene ninguna exclusión voluntaria vigente que se pueda retirar.
message-appeal-received = Recurso recibido
message-appeal-received-text = Su recurso tiene la referencia {$reference}. Un miembro de nuestro equipo que no tomó la decisión lo revisará y le responderá a más tardar el {$due_date}. Le hemos enviado un enlace para seguirlo.
message-appeal-refused = Esta decisión no se puede recurrir
message-appeal-refused-text = Esta decisión ya se recurrió o el plazo para recurrirla ha vencido. Busque nuestro correo electrónico sobre su recurso.
message-appeal-too-long = Sus motivos son demasiado largos
message-appeal-too-long-text = Acorte sus motivos a 5000 caracteres como máximo e inténtelo de nuevo.

## La página de seguimiento.
status-title = Su solicitud {$reference}
status-heading = Su solicitud
status-asked-for = Lo que solicitó
status-label = Estado
status-received = Recibida
status-answer-by = Le responderemos a más tardar el
status-your-data = Sus datos
status-export-ready = La copia de sus datos está lista. Por su seguridad, esta página no muestra el enlace de descarga: se lo enviamos a la dirección que indicó en su solicitud.
status-export-button = Enviarme el enlace de descarga por correo
status-export-until = El enlace es válido hasta el {$expires} y solo para unas pocas descargas. El paquete incluye una guía (README.txt) que explica cada archivo.
status-export-used-up = El enlace de descarga se ha usado tantas veces como permite. Para obtener un nuevo enlace, responda a nuestro correo de finalización indicando la referencia de arriba.
status-export-expired-html = El paquete con sus datos caducó y se eliminó por su seguridad. Para obtener una nueva copia, responda a nuestro correo de finalización indicando la referencia de arriba, o <a href="/">presente una nueva solicitud</a>.
status-systems = Lo que hicimos en cada sistema
status-recipients = Quién recibió sus datos
status-recipients-unknown = Nuestra lista de destinatarios aún no está registrada en este servicio. Responda a nuestro correo de finalización y se la indicaremos.
status-changed-mind = ¿Ha cambiado de opinión?
status-opt-in-completed = Puede retirar su exclusión voluntaria. Nuestros sistemas volverían a tratar sus datos como antes, y quitaríamos su dirección de nuestra lista de exclusión para ella.
status-opt-in-open = Puede anular su exclusión voluntaria; dejaríamos de tramitarla.
status-opt-in-button = Retirar mi exclusión voluntaria
status-appeal = Recurrir esta decisión
status-appeal-text = Si no está de acuerdo con nuestra decisión, puede recurrirla hasta el {$until}. Un miembro de nuestro equipo que no tomó la decisión la revisará y le responderá en un plazo de {$within}.
status-appeal-reasons = ¿Por qué no está de acuerdo? (opcional)
status-withdraw-completed = Puede retirar su oposición. Quitaríamos su dirección de nuestra lista de exclusión y podríamos volver a usar sus datos para la finalidad a la que se opuso.
status-withdraw-open = Puede retirar su oposición; dejaríamos de tramitarla.
status-withdraw-button = Retirar mi oposición
status-messages = Mensajes
status-we-asked = Le preguntamos
status-we-wrote = Le escribimos
status-you-answered = Usted respondió
status-waiting-for-answer = Estamos esperando su respuesta a nuestra pregunta para continuar.
status-your-answer = Su respuesta
status-files = Archivos
status-files-hint = (hasta 3; PDF, PNG, JPEG o texto; 10 MB como máximo cada uno)
status-reply-button = Enviar mi respuesta
status-history = Historial

## La página del representante autorizado.
agent-status-title = Solicitud {$reference}
agent-status-heading = La solicitud que envió
agent-status-asked-for = Se solicitó
agent-status-confirmed = Confirmada por la persona
agent-status-yes = Sí
agent-status-not-yet = Todavía no
agent-status-answer = Nuestra respuesta
agent-status-consent = La persona aceptó que usted reciba nuestra respuesta: escríbanos indicando la referencia de arriba y se la enviaremos.
agent-status-direct = Respondemos directamente a la persona, en la dirección indicada en la solicitud. Cualquier copia de sus datos se le envía a ella, nunca a usted, salvo que nos indique que usted puede recibirla.
